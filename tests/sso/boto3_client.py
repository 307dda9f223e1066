#!/usr/bin/env python3
"""boto3/botocore as the reference client of scripts/sso_standin.py.

Run by tests/it/sso.rs in a sandbox HOME whose ~/.aws/config has profile
``sso-dev`` on ``[sso-session corp]``, with AWS_ENDPOINT_URL_SSO_OIDC and
AWS_ENDPOINT_URL_SSO at the stand-in, AWS_ENDPOINT_URL_STS at moto, and
BROWSER set to scripts/sso_browser. Prints one JSON document; a failed
expectation exits non-zero with the reason on stderr.

  device-flow   register/start/create_token: pending -> browser -> token,
                SlowDown when polled too fast, no refresh token without scope
  sign-in       the same with scope sso:account:access, then the token saved
                the way botocore saves it (~/.aws/sso/cache/<sha1 corp>.json)
  use           botocore's SSOTokenProvider loads (and refreshes) the cached
                token, then boto3's sso client lists accounts and calls
                GetRoleCredentials for the profile's account and role
                (not with --no-credentials: no moto behind the stand-in)
  paginate      boto3's ListAccounts paginator, every page
  errors        how botocore parses 429 and 401 (ClientError codes)
  invalid-client  how botocore parses CreateToken (refresh grant) and
                StartDeviceAuthorization with the cached registration, once
                the stand-in forgot it (knob forget_clients)
  race SECONDS  botocore's SSOTokenProvider, a new one each turn (as each
                aws CLI run is), loading and refreshing the cached token in a
                loop for SECONDS
"""

import json
import os
import subprocess
import sys
import time

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.tokens import SSOTokenProvider
from botocore.utils import JSONFileCache, SSOTokenLoader

SESSION = "corp"
PROFILE = "sso-dev"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
NO_RETRY = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1, "mode": "standard"})


def fail(msg):
    print(f"boto3_client: {msg}", file=sys.stderr)
    sys.exit(1)


def cfg():
    s = botocore.session.Session(profile=PROFILE)
    full = s.full_config
    sess = full["sso_sessions"][SESSION]
    prof = full["profiles"][PROFILE]
    return s, sess, prof


def clients(region):
    b = boto3.session.Session(region_name=region)
    return (b.client("sso-oidc", config=NO_RETRY), b.client("sso", config=NO_RETRY))


def browse(url):
    subprocess.run([os.environ["BROWSER"], url], check=True, timeout=30)


def device_flow(oidc, scopes, start_url, browser=True):
    kw = {"scopes": scopes} if scopes else {}
    reg = oidc.register_client(clientName="boto3-reference", clientType="public", **kw)
    dev = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=start_url
    )
    ask = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
               grantType=DEVICE_GRANT, deviceCode=dev["deviceCode"])
    seen = []
    try:
        oidc.create_token(**ask)
        fail("CreateToken succeeded before approval")
    except ClientError as e:
        seen.append(e.response["Error"]["Code"])
    try:  # at once again: faster than the interval
        oidc.create_token(**ask)
        fail("CreateToken succeeded before approval")
    except ClientError as e:
        seen.append(e.response["Error"]["Code"])
    interval = dev["interval"] + (5 if seen[-1] == "SlowDownException" else 0)
    if browser:
        browse(dev["verificationUriComplete"])
    deadline = time.time() + dev["expiresIn"]
    while time.time() < deadline:
        time.sleep(interval)
        try:
            tok = oidc.create_token(**ask)
            return reg, dev, tok, seen
        except ClientError as e:
            code = e.response["Error"]["Code"]
            seen.append(code)
            if code == "SlowDownException":
                interval += 5
            elif code != "AuthorizationPendingException":
                return reg, dev, None, seen
    fail("device code ran out")


def cmd_device_flow():
    _, sess, _ = cfg()
    oidc, _ = clients(sess["sso_region"])
    reg, dev, tok, seen = device_flow(oidc, ["sso:account:access"], sess["sso_start_url"])
    _, _, tok2, _ = device_flow(oidc, None, sess["sso_start_url"])
    return {
        "errors_seen": seen,
        "user_code_in_url": dev["userCode"] in dev["verificationUriComplete"],
        "interval": dev["interval"],
        "token": bool(tok and tok["accessToken"]),
        "expires_in": tok["expiresIn"],
        "refresh_token_with_scope": "refreshToken" in tok,
        "refresh_token_without_scope": "refreshToken" in tok2,
    }


def loader():
    return SSOTokenLoader(cache=JSONFileCache(
        os.path.expanduser("~/.aws/sso/cache"),
        dumps_func=lambda o: json.dumps(o, default=lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ))


def cmd_sign_in():
    from datetime import datetime, timedelta, timezone
    _, sess, _ = cfg()
    oidc, _ = clients(sess["sso_region"])
    reg, _, tok, seen = device_flow(oidc, ["sso:account:access"], sess["sso_start_url"])
    if tok is None:
        fail(f"sign-in failed: {seen}")
    now = datetime.now(timezone.utc)
    token = {
        "startUrl": sess["sso_start_url"],
        "region": sess["sso_region"],
        "accessToken": tok["accessToken"],
        "expiresAt": now + timedelta(seconds=tok["expiresIn"]),
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "registrationExpiresAt": datetime.fromtimestamp(reg["clientSecretExpiresAt"], timezone.utc),
        "refreshToken": tok["refreshToken"],
    }
    loader().save_token(sess["sso_start_url"], token, session_name=SESSION)
    return {"token_n": int(tok["accessToken"].split("-")[1])}


def cmd_use():
    s, sess, prof = cfg()
    path = os.path.expanduser(f"~/.aws/sso/cache/{__import__('hashlib').sha1(SESSION.encode()).hexdigest()}.json")
    before = json.load(open(path))
    frozen = SSOTokenProvider(s).load_token().get_frozen_token()
    after = json.load(open(path))
    _, sso = clients(sess["sso_region"])
    accounts = sso.list_accounts(accessToken=frozen.token)["accountList"]
    creds = {"accessKeyId": None, "secretAccessKey": None, "sessionToken": None,
             "expiration": None}
    if "--no-credentials" not in sys.argv:
        creds = sso.get_role_credentials(
            accessToken=frozen.token, accountId=prof["sso_account_id"],
            roleName=prof["sso_role_name"],
        )["roleCredentials"]
    return {
        "token_n": int(frozen.token.split("-")[1]),
        "refreshed": before["accessToken"] != after["accessToken"],
        "cache_has_new_refresh_token": after.get("refreshToken") != before.get("refreshToken"),
        "cache_token_is_the_one_used": after["accessToken"] == frozen.token,
        "cache_mode": oct(os.stat(path).st_mode & 0o777),
        "accounts": len(accounts),
        "credentials": {
            "AWS_ACCESS_KEY_ID": creds["accessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["secretAccessKey"],
            "AWS_SESSION_TOKEN": creds["sessionToken"],
        },
        "expiration_ms": creds["expiration"],
    }


def cmd_paginate():
    s, sess, _ = cfg()
    frozen = SSOTokenProvider(s).load_token().get_frozen_token()
    _, sso = clients(sess["sso_region"])
    pages = list(sso.get_paginator("list_accounts").paginate(accessToken=frozen.token))
    ids = [a["accountId"] for p in pages for a in p["accountList"]]
    return {"pages": len(pages), "accounts": len(ids), "distinct": len(set(ids))}


def cmd_errors():
    s, sess, prof = cfg()
    frozen = SSOTokenProvider(s).load_token().get_frozen_token()
    _, sso = clients(sess["sso_region"])
    out = {}
    for name, call in [
        ("throttled", lambda: sso.list_accounts(accessToken=frozen.token)),
        ("unauthorized", lambda: sso.list_accounts(accessToken="aoa-0-not-a-token")),
        ("no_access", lambda: sso.get_role_credentials(
            accessToken=frozen.token, accountId="999999999999", roleName="Nope")),
    ]:
        try:
            call()
            out[name] = None
        except ClientError as e:
            out[name] = {"code": e.response["Error"]["Code"],
                         "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                         "message": e.response["Error"].get("Message")}
    return out


def cmd_invalid_client():
    _, sess, _ = cfg()
    oidc, _ = clients(sess["sso_region"])
    path = os.path.expanduser(f"~/.aws/sso/cache/{__import__('hashlib').sha1(SESSION.encode()).hexdigest()}.json")
    t = json.load(open(path))
    out = {}
    for name, call in [
        ("refresh", lambda: oidc.create_token(
            clientId=t["clientId"], clientSecret=t["clientSecret"],
            grantType="refresh_token", refreshToken=t["refreshToken"])),
        ("start", lambda: oidc.start_device_authorization(
            clientId=t["clientId"], clientSecret=t["clientSecret"],
            startUrl=sess["sso_start_url"])),
    ]:
        try:
            call()
            out[name] = None
        except ClientError as e:
            out[name] = {"code": e.response["Error"]["Code"],
                         "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                         "error": e.response.get("error")}
    return out


def cmd_race():
    s, _, _ = cfg()
    until = time.time() + float(sys.argv[2])
    turns = refreshed = 0
    seen = None
    while time.time() < until:
        frozen = SSOTokenProvider(s).load_token().get_frozen_token()
        turns += 1
        if seen is not None and frozen.token != seen:
            refreshed += 1
        seen = frozen.token
    return {"turns": turns, "new_tokens": refreshed}


if __name__ == "__main__":
    cmd = {"device-flow": cmd_device_flow, "sign-in": cmd_sign_in, "use": cmd_use,
           "paginate": cmd_paginate, "errors": cmd_errors,
           "invalid-client": cmd_invalid_client, "race": cmd_race}[sys.argv[1]]
    json.dump(cmd(), sys.stdout)
    sys.stdout.write("\n")
