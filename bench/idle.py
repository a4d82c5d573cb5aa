#!/usr/bin/env python3
"""Idle-session holder and greeting probe for bench/run.

  idle.py hold HOST PORT N TIMEOUT
      Open N SMTP sessions (at most 200 connecting at once), read each
      greeting, send EHLO and read the reply, then keep them all open and
      idle. Prints "ready OK FAILED SECONDS" on stdout once every session is
      idle (or has failed, or TIMEOUT seconds have passed), then waits until
      stdin is closed and closes everything.

  idle.py probe HOST PORT COUNT
      Open COUNT new sessions one after another and print the time to the
      220 greeting of each, in milliseconds: "probe MEDIAN MAX FAILED".
"""
import selectors
import socket
import sys
import time


def hold(host, port, n, timeout):
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    deadline = start + timeout
    # state per socket: [phase, buffer]; phase 0 connecting, 1 greeting,
    # 2 EHLO reply, 3 idle
    state = {}
    opened = ok = failed = 0
    inflight = 0
    idle = []

    def fail(s):
        nonlocal failed, inflight
        failed += 1
        inflight -= 1
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()
        state.pop(s, None)

    while (ok + failed < n) and time.monotonic() < deadline:
        while opened < n and inflight < 200:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((host, port))
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                opened += 1
                failed += 1
                continue
            opened += 1
            inflight += 1
            state[s] = [0, b""]
            sel.register(s, selectors.EVENT_WRITE)
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            st = state.get(s)
            if st is None:
                continue
            if st[0] == 0:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s)
                    continue
                st[0] = 1
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                fail(s)
                continue
            st[1] += data
            # a complete reply ends with a "ddd " line
            lines = st[1].split(b"\r\n")
            if len(lines) < 2 or len(lines[-2]) < 4 or lines[-2][3:4] != b" ":
                continue
            code = lines[-2][:3]
            st[1] = b""
            if st[0] == 1:
                if code != b"220":
                    fail(s)
                    continue
                s.sendall(b"EHLO idle.example.test\r\n")
                st[0] = 2
            elif st[0] == 2:
                if code != b"250":
                    fail(s)
                    continue
                st[0] = 3
                sel.unregister(s)
                del state[s]
                idle.append(s)
                ok += 1
                inflight -= 1
    for s in list(state):
        fail(s)
    print("ready %d %d %.2f" % (ok, failed + (n - opened), time.monotonic() - start),
          flush=True)
    sys.stdin.read()
    for s in idle:
        s.close()


def probe(host, port, count):
    times = []
    failed = 0
    for _ in range(count):
        t0 = time.monotonic()
        try:
            s = socket.create_connection((host, port), timeout=10)
            buf = b""
            while not buf.endswith(b"\r\n"):
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            if buf.startswith(b"220"):
                times.append((time.monotonic() - t0) * 1000.0)
                s.sendall(b"QUIT\r\n")
                try:
                    s.recv(4096)
                except OSError:
                    pass
            else:
                failed += 1
            s.close()
        except OSError:
            failed += 1
        time.sleep(0.05)
    times.sort()
    if times:
        print("probe %.2f %.2f %d" % (times[len(times) // 2], times[-1], failed))
    else:
        print("probe nan nan %d" % failed)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif len(sys.argv) == 5 and sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
