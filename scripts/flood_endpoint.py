"""A flood against a credential endpoint, for tests and benches (run as
another user with `CommandExt::uid` to play the other local user).

    python3 flood_endpoint.py PORT HELD SLOW

Keeps HELD connections to 127.0.0.1:PORT open that send nothing, and SLOW
slow-loris connections (the start of a request head, then a byte every
0.5 s). Each one the server closes is opened again at once. Prints "ready"
once all are open, then runs until its standard input closes, and prints
"reopened N" on the way out.
"""

import selectors
import socket
import sys
import time

port, held, slow = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sel = selectors.DefaultSelector()
reopened = 0


def open_one(kind):
    while True:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            if kind == "slow":
                s.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, kind)
            return
        except OSError:
            s.close()
            time.sleep(0.001)


def reopen(s, kind):
    global reopened
    sel.unregister(s)
    s.close()
    reopened += 1
    open_one(kind)


for _ in range(held):
    open_one("held")
for _ in range(slow):
    open_one("slow")
sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
print("ready", flush=True)

next_byte = time.monotonic() + 0.5
running = True
while running:
    for key, _ in sel.select(timeout=max(0.0, next_byte - time.monotonic())):
        if key.data == "stdin":
            if not sys.stdin.buffer.read1(4096):
                running = False
            continue
        try:
            closed = not key.fileobj.recv(4096)
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        if closed:
            reopen(key.fileobj, key.data)
    if time.monotonic() >= next_byte:
        next_byte = time.monotonic() + 0.5
        for key in list(sel.get_map().values()):
            if key.data == "slow":
                try:
                    key.fileobj.send(b"a")
                except OSError:
                    reopen(key.fileobj, "slow")

print(f"reopened {reopened}", flush=True)
