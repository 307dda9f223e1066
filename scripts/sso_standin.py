#!/usr/bin/env python3
"""Loopback stand-in of the IAM Identity Center OIDC API and portal API.

moto implements neither, so the tests and the demo run this beside moto.
It follows botocore's own service models (data/sso-oidc and data/sso,
2019-06-10): rest-json, the same paths and query names, the bearer token in
the ``x-amz-sso_bearer_token`` header, errors named in ``x-amzn-ErrorType``
with ``{"error", "error_description"}`` bodies (OIDC) or ``{"message"}``
bodies (portal), and the modelled HTTP statuses.

OIDC (``sso-oidc``):
  POST /client/register          RegisterClient (scopes recorded)
  POST /device_authorization     StartDeviceAuthorization
  POST /token                    CreateToken: device_code grant
                                 (AuthorizationPending until approved,
                                 SlowDown when polled faster than the interval,
                                 AccessDenied when denied, ExpiredToken when the
                                 device code expired) and refresh_token grant
                                 (new access token AND new refresh token; the
                                 old one is single-use). A refresh token is
                                 only issued to clients registered with scope
                                 ``sso:account:access``.
Portal (``sso``):
  GET  /assignment/accounts      ListAccounts (next_token / max_result)
  GET  /assignment/roles         ListAccountRoles (account_id, paginated)
  GET  /federation/credentials   GetRoleCredentials: moto's sts:AssumeRole on
                                 the role (created in moto on first use as
                                 ``AWSReservedSSO_<role>_<hash>``), so
                                 `aws sts get-caller-identity` names it
  POST /logout                   Logout (the token and its refresh tokens die)
The "browser":
  GET  /device?user_code=X       verificationUriComplete: visiting approves
                                 (or denies, see ``on_visit``)
  GET  /approve?user_code=X      approve;  GET /deny?user_code=X  deny
Control (tests):
  GET  /_stats                   per-operation counters and every request seen
  POST /_control                 JSON object of knobs to change (see KNOBS)
  POST /_reset                   clears counters and the request record

Knobs (flags at start, ``/_control`` later): accounts, roles, page_size,
interval, slow_down, device_code_ttl, token_ttl, role_ttl, rate_limit
(portal calls per second, a token bucket of one second's worth; above it
429), latency_ms (per portal call), oidc_latency_ms (per OIDC call, before
it is handled: widens the window in which two clients hold the same
refresh token),
fail_next ({"op": name or "*", "status": 429|401|500, "count": K}; "*"
means any portal call; an OIDC operation must be named, and its 401 is
InvalidClientException),
revoke (true: every access token issued so far answers 401),
forget_clients (true: every registration so far is unknown, and calls with
it answer 401 InvalidClientException as Identity Center does), on_visit
("approve" or "deny").

Prints one JSON line ``{"endpoint": "http://127.0.0.1:PORT"}`` on stdout
when it listens. Loopback only: it refuses any other bind address and any
non-loopback moto URL.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SCOPE = "sso:account:access"
BOOTSTRAP_KEY = "AKIAMOTOBOOTSTRAP000"  # moto does not check signatures
KNOBS = {
    "accounts": 3,
    "roles": ["AdministratorAccess", "ReadOnlyAccess"],
    "page_size": 20,
    "interval": 1,
    "slow_down": True,
    "device_code_ttl": 600,
    "token_ttl": 28800,
    "role_ttl": 3600,
    "rate_limit": 0,
    "latency_ms": 0,
    "oidc_latency_ms": 0,
    "on_visit": "approve",
    "user_name": "sso-user",
}


def is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def account_id(i: int) -> str:
    return f"{100000000000 + i:012d}"


class ApiError(Exception):
    def __init__(self, status: int, kind: str, body: dict):
        super().__init__(kind)
        self.status, self.kind, self.body = status, kind, body


def oidc_error(status: int, kind: str, code: str, desc: str | None = None) -> ApiError:
    return ApiError(status, kind, {"error": code, "error_description": desc})


def portal_error(status: int, kind: str, message: str) -> ApiError:
    return ApiError(status, kind, {"message": message})


class State:
    def __init__(self, knobs: dict, moto: str | None):
        self.lock = threading.Lock()
        self.knobs = dict(knobs)
        self.moto = moto
        self.clients: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}  # device code -> record
        self.user_codes: dict[str, str] = {}  # user code -> device code
        self.tokens: dict[str, dict] = {}  # access token -> record
        self.refresh: dict[str, dict] = {}  # refresh token -> record
        self.fail_next: list[dict] = []
        self.bucket: tuple[float, float] | None = None
        self.counts: dict[str, int] = {}
        self.requests: list[dict] = []
        self.issued = 0
        self.moto_roles: set[str] = set()
        self.moto_lock = threading.Lock()

    # -- accounting ---------------------------------------------------------
    def record(self, entry: dict) -> None:
        with self.lock:
            op = entry["op"]
            self.counts[op] = self.counts.get(op, 0) + 1
            key = f"{op}:{entry['status']}"
            self.counts[key] = self.counts.get(key, 0) + 1
            self.requests.append(entry)

    def stats(self) -> dict:
        with self.lock:
            return {
                "counts": dict(self.counts),
                "requests": list(self.requests),
                "clients": [
                    {"clientId": c, "scopes": v["scopes"]} for c, v in self.clients.items()
                ],
                "knobs": dict(self.knobs),
            }

    def control(self, body: dict) -> None:
        with self.lock:
            for k, v in body.items():
                if k == "fail_next":
                    items = v if isinstance(v, list) else [v]
                    for it in items:
                        self.fail_next.append(
                            {"op": it.get("op", "*"), "status": int(it.get("status", 429)),
                             "count": int(it.get("count", 1))}
                        )
                elif k == "forget_clients":
                    if v:
                        # As when Identity Center no longer knows a registration:
                        # every call with it answers InvalidClientException.
                        self.clients.clear()
                elif k == "revoke":
                    if v:
                        for t in self.tokens.values():
                            t["revoked"] = True
                elif k in KNOBS:
                    self.knobs[k] = v
                else:
                    raise ValueError(f"unknown knob {k!r}")

    # -- OIDC ---------------------------------------------------------------
    def register_client(self, body: dict) -> dict:
        if not body.get("clientName") or not body.get("clientType"):
            raise oidc_error(400, "InvalidRequestException", "invalid_request",
                             "clientName and clientType are required")
        cid, secret = "cid-" + secrets.token_hex(8), "csec-" + secrets.token_hex(24)
        now = int(time.time())
        with self.lock:
            self.clients[cid] = {"secret": secret, "scopes": list(body.get("scopes") or [])}
        return {
            "clientId": cid,
            "clientSecret": secret,
            "clientIdIssuedAt": now,
            "clientSecretExpiresAt": now + 90 * 86400,
        }

    def _client(self, body: dict) -> dict:
        c = self.clients.get(body.get("clientId") or "")
        if c is None or c["secret"] != body.get("clientSecret"):
            raise oidc_error(401, "InvalidClientException", "invalid_client",
                             "unknown client or wrong secret")
        return c

    def start_device(self, body: dict, base: str) -> dict:
        with self.lock:
            self._client(body)
            if not body.get("startUrl"):
                raise oidc_error(400, "InvalidRequestException", "invalid_request",
                                 "startUrl is required")
            device = "dev-" + secrets.token_hex(16)
            user = "-".join(secrets.token_hex(2).upper() for _ in range(2))
            ttl, interval = int(self.knobs["device_code_ttl"]), int(self.knobs["interval"])
            self.devices[device] = {
                "user_code": user, "client": body["clientId"], "start_url": body["startUrl"],
                "expires": time.time() + ttl, "status": "pending", "last_poll": None,
                "interval": interval,
            }
            self.user_codes[user] = device
        return {
            "deviceCode": device,
            "userCode": user,
            "verificationUri": f"{base}/device",
            "verificationUriComplete": f"{base}/device?user_code={user}",
            "expiresIn": ttl,
            "interval": interval,
        }

    def _issue(self, client_id: str, start_url: str) -> dict:
        self.issued += 1
        token = f"aoa-{self.issued}-" + secrets.token_hex(24)
        ttl = int(self.knobs["token_ttl"])
        self.tokens[token] = {
            "n": self.issued, "client": client_id, "expires": time.time() + ttl,
            "revoked": False, "start_url": start_url,
        }
        out = {"accessToken": token, "tokenType": "Bearer", "expiresIn": ttl}
        if ACCOUNT_SCOPE in self.clients[client_id]["scopes"]:
            rt = f"aor-{self.issued}-" + secrets.token_hex(24)
            self.refresh[rt] = {"client": client_id, "valid": True, "start_url": start_url,
                                "access": token}
            out["refreshToken"] = rt
        return out

    def create_token(self, body: dict) -> tuple[dict, str]:
        with self.lock:
            self._client(body)
            grant = body.get("grantType")
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                d = self.devices.get(body.get("deviceCode") or "")
                if d is None or d["client"] != body["clientId"]:
                    raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                                     "unknown device code")
                now = time.time()
                if d["status"] == "consumed":
                    raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                                     "device code already used")
                if d["status"] == "denied":
                    raise oidc_error(400, "AccessDeniedException", "access_denied",
                                     "the user denied the request")
                if d["status"] != "approved" and now >= d["expires"]:
                    raise oidc_error(400, "ExpiredTokenException", "expired_token",
                                     "the device code has expired")
                last, d["last_poll"] = d["last_poll"], now
                if (self.knobs["slow_down"] and last is not None
                        and now - last < d["interval"] - 0.05):
                    d["interval"] += 5
                    raise oidc_error(400, "SlowDownException", "slow_down", None)
                if d["status"] == "pending":
                    raise oidc_error(400, "AuthorizationPendingException",
                                     "authorization_pending", None)
                d["status"] = "consumed"
                return self._issue(body["clientId"], d["start_url"]), "device_code"
            if grant == "refresh_token":
                r = self.refresh.get(body.get("refreshToken") or "")
                if r is None or not r["valid"] or r["client"] != body["clientId"]:
                    raise oidc_error(400, "InvalidGrantException", "invalid_grant",
                                     "invalid refresh token")
                r["valid"] = False  # single use
                return self._issue(body["clientId"], r["start_url"]), "refresh_token"
            raise oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                             f"grant type {grant!r} is not supported")

    def visit(self, user_code: str, verdict: str) -> bool:
        with self.lock:
            device = self.user_codes.get(user_code)
            d = self.devices.get(device or "")
            if d is None or d["status"] != "pending" or time.time() >= d["expires"]:
                return False
            d["status"] = verdict
            return True

    # -- portal -------------------------------------------------------------
    def oidc_gate(self, op: str) -> None:
        """Fault knobs naming this OIDC operation ("*" is for the portal)."""
        with self.lock:
            for f in self.fail_next:
                if f["count"] > 0 and f["op"] == op:
                    f["count"] -= 1
                    self.fail_next = [x for x in self.fail_next if x["count"] > 0]
                    if f["status"] == 401:
                        raise oidc_error(401, "InvalidClientException", "invalid_client",
                                         "unknown client or wrong secret")
                    raise oidc_error(f["status"], "InternalServerException", "server_error",
                                     "injected failure")

    def portal_gate(self, op: str, token: str | None) -> int:
        """Fault knobs, pacing and the bearer token; returns the token's number."""
        with self.lock:
            for f in self.fail_next:
                if f["count"] > 0 and f["op"] in ("*", op):
                    f["count"] -= 1
                    status = f["status"]
                    self.fail_next = [x for x in self.fail_next if x["count"] > 0]
                    if status == 429:
                        raise portal_error(429, "TooManyRequestsException", "Too many requests")
                    if status == 401:
                        raise portal_error(401, "UnauthorizedException",
                                           "Session token not found or invalid")
                    raise portal_error(status, "InternalServerException", "injected failure")
            rate = float(self.knobs["rate_limit"] or 0)
            if rate > 0:
                # A token bucket holding one second's worth: a steady `rate`
                # calls/s never sees 429, a burst above it does.
                now = time.monotonic()
                level, last = self.bucket if self.bucket else (rate, now)
                level = min(rate, level + (now - last) * rate)
                if level < 1:
                    self.bucket = (level, now)
                    raise portal_error(429, "TooManyRequestsException", "Rate exceeded")
                self.bucket = (level - 1, now)
            t = self.tokens.get(token or "")
            if t is None or t["revoked"] or time.time() >= t["expires"]:
                raise portal_error(401, "UnauthorizedException",
                                   "Session token not found or invalid")
            return t["n"]

    def accounts(self) -> list[dict]:
        n = int(self.knobs["accounts"])
        return [
            {"accountId": account_id(i), "accountName": f"account-{i:04d}",
             "emailAddress": f"aws+{i:04d}@example.com"}
            for i in range(n)
        ]

    def page(self, items: list, q: dict) -> tuple[list, str | None]:
        size = int(self.knobs["page_size"])
        if "max_result" in q:
            size = min(size, max(1, int(q["max_result"])))
        start = int(q.get("next_token", "0") or 0)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def known(self, account: str, role: str | None = None) -> bool:
        ids = {a["accountId"] for a in self.accounts()}
        return account in ids and (role is None or role in self.knobs["roles"])

    def logout(self, token: str) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens[token]["revoked"] = True
            for r in self.refresh.values():
                if r["access"] == token:
                    r["valid"] = False

    # -- moto ---------------------------------------------------------------
    def _moto_call(self, service: str, params: dict, key: str, token: str | None = None) -> ET.Element:
        data = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(self.moto, data=data, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        req.add_header(
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0",
        )
        if token:
            req.add_header("X-Amz-Security-Token", token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read()
        except urllib.error.HTTPError as e:
            text = e.read()
            if b"EntityAlreadyExists" in text:
                return ET.fromstring(text)
            raise RuntimeError(f"moto {params.get('Action')}: {e.code} {text[:300]!r}")
        return ET.fromstring(text)

    @staticmethod
    def _find(root: ET.Element, name: str) -> str:
        for el in root.iter():
            if el.tag.rsplit("}", 1)[-1] == name:
                return el.text or ""
        raise RuntimeError(f"moto reply without {name}")

    def _assume(self, arn: str, session: str, seconds: int) -> dict:
        root = self._moto_call("sts", {
            "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": arn,
            "RoleSessionName": session, "DurationSeconds": str(seconds),
        }, BOOTSTRAP_KEY)
        return {k: self._find(root, k) for k in
                ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}

    def role_credentials(self, account: str, role: str) -> dict:
        if not self.moto:
            raise portal_error(500, "InternalServerException", "no moto endpoint configured")
        suffix = hashlib.sha1(f"{account}/{role}".encode()).hexdigest()[:16]
        name = f"AWSReservedSSO_{role}_{suffix}"
        arn = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{name}"
        with self.moto_lock:
            if arn not in self.moto_roles:
                # Keys that moto ties to `account`, then the role in that account.
                boot = self._assume(f"arn:aws:iam::{account}:role/sso-standin",
                                    "sso-standin", 900)
                self._moto_call("iam", {
                    "Action": "CreateRole", "Version": "2010-05-08", "RoleName": name,
                    "Path": "/aws-reserved/sso.amazonaws.com/",
                    "AssumeRolePolicyDocument": json.dumps({
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML",
                                       "Principal": {"Federated": "arn:aws:iam::"
                                                     f"{account}:saml-provider/AWSSSO"}}]}),
                }, boot["AccessKeyId"], boot["SessionToken"])
                self.moto_roles.add(arn)
        c = self._assume(arn, str(self.knobs["user_name"]), int(self.knobs["role_ttl"]))
        exp = c["Expiration"].replace("Z", "+00:00")
        from datetime import datetime
        ms = int(datetime.fromisoformat(exp).timestamp() * 1000)
        return {"roleCredentials": {
            "accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
            "sessionToken": c["SessionToken"], "expiration": ms}}


OPS = {
    ("POST", "/client/register"): "RegisterClient",
    ("POST", "/device_authorization"): "StartDeviceAuthorization",
    ("POST", "/token"): "CreateToken",
    ("GET", "/assignment/accounts"): "ListAccounts",
    ("GET", "/assignment/roles"): "ListAccountRoles",
    ("GET", "/federation/credentials"): "GetRoleCredentials",
    ("POST", "/logout"): "Logout",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sso-standin"
    state: State  # set on the class by main()

    def log_message(self, fmt, *args):  # quiet; /_stats has the record
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers=headers)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        st = self.state
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        raw = self._body()
        if url.path == "/_stats" and method == "GET":
            return self._json(200, st.stats())
        if url.path == "/_reset" and method == "POST":
            with st.lock:
                st.counts, st.requests = {}, []
            return self._json(200, {})
        if url.path == "/_control" and method == "POST":
            try:
                st.control(json.loads(raw or b"{}"))
            except (ValueError, TypeError) as e:
                return self._json(400, {"message": str(e)})
            return self._json(200, st.stats()["knobs"])
        if url.path in ("/device", "/approve", "/deny") and method == "GET":
            return self._browser(url.path, q)
        op = OPS.get((method, url.path))
        if op is None:
            return self._json(404, {"message": f"no route {method} {url.path}"},
                              {"x-amzn-ErrorType": "UnknownOperationException"})
        entry = {"op": op, "method": method, "path": url.path, "query": q,
                 "t": time.time(), "status": 200, "error": None}
        try:
            status, body, headers = 200, self._operation(op, q, raw, entry), None
        except ApiError as e:
            entry["status"], entry["error"] = e.status, e.kind
            status, body, headers = e.status, e.body, {"x-amzn-ErrorType": e.kind}
        except Exception as e:  # noqa: BLE001 - a stand-in answers 500 and says why
            entry["status"], entry["error"] = 500, "InternalServerException"
            status, body = 500, {"message": str(e)}
            headers = {"x-amzn-ErrorType": "InternalServerException"}
        # Recorded before the answer goes out: a client that has its answer
        # finds its request in the record.
        st.record(entry)
        self._json(status, body, headers)

    def _operation(self, op: str, q: dict, raw: bytes, entry: dict) -> dict:
        st = self.state
        if op in ("RegisterClient", "StartDeviceAuthorization", "CreateToken"):
            oidc_latency = float(st.knobs["oidc_latency_ms"] or 0)
            if oidc_latency:
                time.sleep(oidc_latency / 1000)
            st.oidc_gate(op)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise oidc_error(400, "InvalidRequestException", "invalid_request", "bad JSON")
            if op == "RegisterClient":
                entry["scopes"] = body.get("scopes") or []
                return st.register_client(body)
            if op == "StartDeviceAuthorization":
                return st.start_device(body, self._base())
            entry["grant"] = body.get("grantType")
            out, _ = st.create_token(body)
            entry["issued"] = int(out["accessToken"].split("-")[1])
            return out
        latency = float(st.knobs["latency_ms"] or 0)
        if latency:
            time.sleep(latency / 1000)
        token = self.headers.get("x-amz-sso_bearer_token")
        entry["token"] = st.portal_gate(op, token)
        if op == "ListAccounts":
            items, nxt = st.page(st.accounts(), q)
            out = {"accountList": items}
        elif op == "ListAccountRoles":
            acct = q.get("account_id", "")
            if not st.known(acct):
                raise portal_error(404, "ResourceNotFoundException", "Account not found")
            roles = [{"roleName": r, "accountId": acct} for r in st.knobs["roles"]]
            items, nxt = st.page(roles, q)
            out = {"roleList": items}
        elif op == "GetRoleCredentials":
            acct, role = q.get("account_id", ""), q.get("role_name", "")
            if not st.known(acct, role):
                # What the real portal answers for a role one is not assigned.
                raise portal_error(403, "ForbiddenException", "No access")
            return st.role_credentials(acct, role)
        else:  # Logout
            st.logout(token or "")
            return {}
        if nxt:
            out["nextToken"] = nxt
        return out

    def _browser(self, path: str, q: dict) -> None:
        code = q.get("user_code")
        if not code:
            page = b"<html><body><form>Code: <input name=user_code></form></body></html>"
            return self._send(200, page, "text/html")
        verdict = {"/approve": "approved", "/deny": "denied"}.get(path)
        if verdict is None:
            verdict = "denied" if self.state.knobs["on_visit"] == "deny" else "approved"
        ok = self.state.visit(code, verdict)
        self.state.record({"op": "Browser", "method": "GET", "path": path, "query": q,
                           "t": time.time(), "status": 200 if ok else 400, "error": None,
                           "verdict": verdict})
        msg = f"Request {verdict}." if ok else "Unknown, used or expired code."
        self._send(200 if ok else 400, f"<html><body>{msg}</body></html>".encode(), "text/html")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moto", help="moto URL for GetRoleCredentials (loopback)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--accounts", type=int, default=KNOBS["accounts"])
    ap.add_argument("--roles", default=",".join(KNOBS["roles"]))
    ap.add_argument("--page-size", type=int, default=KNOBS["page_size"])
    ap.add_argument("--interval", type=int, default=KNOBS["interval"])
    ap.add_argument("--no-slow-down", action="store_true", help="never answer SlowDown")
    ap.add_argument("--device-code-ttl", type=int, default=KNOBS["device_code_ttl"])
    ap.add_argument("--token-ttl", type=int, default=KNOBS["token_ttl"])
    ap.add_argument("--role-ttl", type=int, default=KNOBS["role_ttl"])
    ap.add_argument("--rate-limit", type=float, default=0, help="portal calls/s before 429")
    ap.add_argument("--latency-ms", type=float, default=0)
    args = ap.parse_args()
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            raise ValueError
    except ValueError:
        sys.exit(f"sso_standin: refusing to listen on {args.host!r}: loopback only")
    if args.moto and not is_loopback_url(args.moto):
        sys.exit(f"sso_standin: refusing moto URL {args.moto!r}: loopback only")
    knobs = dict(KNOBS, accounts=args.accounts, roles=[r for r in args.roles.split(",") if r],
                 page_size=args.page_size, interval=args.interval,
                 slow_down=not args.no_slow_down, device_code_ttl=args.device_code_ttl,
                 token_ttl=args.token_ttl, role_ttl=args.role_ttl,
                 rate_limit=args.rate_limit, latency_ms=args.latency_ms)
    Handler.state = State(knobs, args.moto.rstrip("/") if args.moto else None)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
