#!/usr/bin/env python3
"""Whole-process picker start-up with a generated config of many roles.

Starts `rolepick` (no arguments: the picker) in a pseudo-terminal with a
sandbox HOME holding N roles in M accounts, and reports the time from
spawn until the first frame's header is on the terminal, the peak RSS
(VmHWM) then, and the CPU the process uses while idle for a few seconds.
Prints figures; never passes or fails. Usage:

    picker_startup.py BINARY [--roles 10000] [--accounts 500] [--runs 5]
"""
import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import tempfile
import termios
import time


def write_home(home, roles, accounts):
    aws = os.path.join(home, ".aws")
    os.makedirs(aws, mode=0o700)
    per = max(1, roles // accounts)
    lines = ["[profile primary]", "region = us-east-1", ""]
    for a in range(accounts):
        acct = f"{100000000000 + a:012d}"
        for r in range(per):
            lines += [
                f"[profile acct{a}-role{r}]",
                f"role_arn = arn:aws:iam::{acct}:role/role{r}",
                "source_profile = primary",
                "mfa_serial = arn:aws:iam::111122223333:mfa/primary",
                "region = eu-west-1",
                "",
            ]
    with open(os.path.join(aws, "config"), "w") as f:
        f.write("\n".join(lines))
    fd = os.open(os.path.join(aws, "credentials"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"[primary]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n")
    os.close(fd)


def cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in nanoseconds (schedstat:
    exact, where utime and stime count whole clock ticks of 10 ms)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # the thread ended meanwhile
    return total


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_once(binary, home, idle):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TERM": "xterm-256color",
        "ROLEPICK_CACHE_DIR": os.path.join(home, "cache"),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never contacted
        "COLUMNS": "120",
        "LINES": "40",
    }
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execve(binary, [binary], env)
    buf = b""
    first = None
    deadline = start + 10
    while time.perf_counter() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
            if b"roles in" in buf:
                first = time.perf_counter() - start
                break
    rss = vm_hwm_kb(pid)
    t0 = cpu_ns(pid)
    end = time.perf_counter() + idle
    while time.perf_counter() < end:  # keep draining the pty while idle
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                os.read(fd, 65536)
            except OSError:
                break
    idle_ns = cpu_ns(pid) - t0
    rss = max(rss, vm_hwm_kb(pid))
    os.write(fd, b"q")
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)
    return first, rss, idle_ns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--roles", type=int, default=10000)
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=3.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rolepick-picker-bench-") as home:
        write_home(home, a.roles, a.accounts)
        # rolepick snapshots a configuration only once its files are 2 s
        # old; one untimed run then writes the snapshot, as any first run
        # after an edit does.
        time.sleep(2.2)
        if run_once(os.path.abspath(a.binary), home, 0)[0] is None:
            print("picker did not draw its first frame within 10 s")
            return
        firsts, rsss, idles = [], [], []
        for i in range(a.runs):
            first, rss, idle = run_once(os.path.abspath(a.binary), home, a.idle if i == 0 else 0.2)
            if first is None:
                print("picker did not draw its first frame within 10 s")
                return
            firsts.append(first * 1000)
            rsss.append(rss / 1024)
            if i == 0:
                idles.append(idle)
        print(f"picker, {a.roles} roles in {a.accounts} accounts, {a.runs} runs:")
        print(f"  spawn -> first frame: median {statistics.median(firsts):.1f} ms (min {min(firsts):.1f}, max {max(firsts):.1f})")
        print(f"  peak RSS:             median {statistics.median(rsss):.1f} MiB")
        print(f"  idle CPU over {a.idle:.0f} s:     {idles[0] / 1e6:.1f} ms")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    main()
