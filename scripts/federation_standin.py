#!/usr/bin/env python3
"""A loopback stand-in for the AWS console federation endpoint
(https://signin.aws.amazon.com/federation), for rolepick's tests and demo.

    federation_standin.py [--port N] [--record FILE] [--mode ok|refuse|no-token]

Listens on 127.0.0.1 only and prints the port it got on stdout (one line).
GET /federation?Action=getSigninToken&Session=<JSON> answers
{"SigninToken": "..."} (mode ok), HTTP 400 (refuse, as AWS does for
credentials it does not take) or {} (no-token). GET
/federation?Action=login&Issuer=...&Destination=...&SigninToken=... answers
a small page saying who signed in and where they would land. Every request
is appended to FILE as one JSON line: {"path", "params", "session" (parsed
Session JSON, if any), "token" (the SigninToken issued, if any)}.
"""
import argparse
import html
import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record")
    ap.add_argument("--mode", choices=["ok", "refuse", "no-token"], default="ok")
    args = ap.parse_args()
    issued = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, status, ctype, body):
            # Recorded before the answer goes out: a client that has its
            # answer finds its request in the record.
            if args.record:
                with open(args.record, "a") as f:
                    f.write(json.dumps(self.rec) + "\n")
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            rec = self.rec = {"path": url.path, "params": params}
            action = params.get("Action")
            if url.path != "/federation":
                self.send(404, "text/plain", "not found\n")
            elif action == "getSigninToken":
                try:
                    session = json.loads(params.get("Session", ""))
                    ok = all(isinstance(session.get(k), str) and session[k]
                             for k in ("sessionId", "sessionKey", "sessionToken"))
                except ValueError:
                    session, ok = None, False
                rec["session"] = session
                if not ok or args.mode == "refuse":
                    self.send(400, "text/html", "<html><body>Bad Request</body></html>\n")
                elif args.mode == "no-token":
                    self.send(200, "application/json", "{}")
                else:
                    token = "standin-" + secrets.token_urlsafe(48)
                    issued[token] = session["sessionId"]
                    rec["token"] = token
                    self.send(200, "application/json", json.dumps({"SigninToken": token}))
            elif action == "login":
                who = issued.get(params.get("SigninToken", ""))
                if who is None:
                    self.send(400, "text/plain", "unknown or missing SigninToken\n")
                else:
                    dest = html.escape(params.get("Destination", ""))
                    self.send(200, "text/html",
                              "<html><body><h1>Signed in (rolepick's federation stand-in)</h1>"
                              f"<p>as {html.escape(who)}; the AWS console would open {dest}</p>"
                              "</body></html>\n")
            else:
                self.send(400, "text/plain", "unknown Action\n")

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
