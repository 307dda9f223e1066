#!/usr/bin/env python3
"""A $BROWSER for rolepick's console tests: records its argv, copies the
page it was given, scans every process's argv for the sign-in token, then
follows the page's redirect (meta refresh) like a browser would.

Writes into $FAKE_BROWSER_DIR: argv.json, page.html, leak.json, followed.txt.
"""
import html
import json
import os
import re
import sys
import urllib.request
from urllib.parse import unquote, urlsplit

out = os.environ["FAKE_BROWSER_DIR"]
args = sys.argv[1:]
with open(os.path.join(out, "argv.json"), "w") as f:
    json.dump(args, f)
target = args[-1] if args else ""
path = unquote(urlsplit(target).path) if target.startswith("file://") else target
page = open(path).read()
with open(os.path.join(out, "page.html"), "w") as f:
    f.write(page)
m = re.search(r'http-equiv="refresh" content="0;url=([^"]*)"', page)
url = html.unescape(m.group(1)) if m else ""
token = re.search(r"SigninToken=([^&]*)", url)
token = unquote(token.group(1)) if token else None
leaks = []
if token:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if token in argv or url in argv:
            leaks.append(pid)
with open(os.path.join(out, "leak.json"), "w") as f:
    json.dump({"token_found_in_page": token is not None, "argv_pids": leaks}, f)
status = "none"
if url:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            status = f"{r.status} {r.read().decode()}"
    except Exception as e:  # noqa: BLE001
        status = f"error {e}"
with open(os.path.join(out, "followed.txt"), "w") as f:
    f.write(status)
