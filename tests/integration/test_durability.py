"""Durability through the real daemon: kill -9 in the middle of a flood of
DATA. Every message that got its 250 must be in the Maildir, complete; a
restart on the same state dir must work and clear tmp/."""
import re
import threading
import time

from conftest import Client

THREADS = 8
FLOOD_SECONDS = 1.5
BODY_LINES = 40          # about 2.5 KiB per message


def body_for(tid, n):
    lines = [f"Subject: flood t{tid} n{n}", f"Message-ID: <t{tid}.n{n}@flood>",
             ""]
    lines += [f"line {i} of message t{tid} n{n} " + "x" * 40
              for i in range(BODY_LINES)]
    lines.append(f"END-t{tid}-n{n}")
    return ("\r\n".join(lines) + "\r\n.\r\n").encode()


def flooder(p, tid, stop, acked, errors):
    """Send messages to alice until stopped or the server dies; record
    (queue id, tid, n) for every 250."""
    try:
        c = Client(p.connect(timeout=20))
        assert c.reply()[0] == 220
        assert c.cmd(f"EHLO flood{tid}.example")[0] == 250
        for n in range(100000):          # bounded; stop ends it sooner
            if stop.is_set():
                break
            c.send(b"MAIL FROM:<flood@outside.test>\r\n"
                   b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
            codes = [c.reply()[0] for _ in range(3)]
            assert codes == [250, 250, 354], codes
            c.send(body_for(tid, n))
            code, lines = c.reply()
            assert code == 250, (code, lines)
            m = re.search(r"queued as (\S+)", lines[0])
            assert m, lines
            acked.append((m.group(1), tid, n))
    except (EOFError, ConnectionError, OSError):
        pass                             # the daemon was killed
    except AssertionError as e:          # a wrong reply before the kill
        if not stop.is_set():
            errors.append(repr(e))


def test_kill_9_during_flood_loses_no_acknowledged_message(make_pillory):
    p = make_pillory()
    stop = threading.Event()
    acked, errors = [], []
    threads = [threading.Thread(target=flooder,
                                args=(p, t, stop, acked, errors), daemon=True)
               for t in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(FLOOD_SECONDS)
    p.proc.kill()                        # SIGKILL: no cleanup at all
    p.proc.wait(timeout=20)
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a client thread hung"
    p.log_fp.close()
    assert errors == [], errors
    assert len(acked) >= THREADS, f"flood too small to mean anything: {acked}"

    new = p.maildir("alice")
    files = {f.name: f for f in new.iterdir()} if new.exists() else {}
    by_id = {}
    for name in files:
        m = re.search(r"_([0-9a-f]+)\.", name)
        assert m, name
        by_id[m.group(1)] = files[name]
    missing = [a for a in acked if a[0] not in by_id]
    assert missing == [], f"{len(missing)} acknowledged messages lost: " \
        f"{missing[:5]}"
    for qid, tid, n in acked:
        text = by_id[qid].read_bytes()
        assert f"Subject: flood t{tid} n{n}\n".encode() in text, qid
        assert text.endswith(f"END-t{tid}-n{n}\n".encode()), qid
        size = int(re.search(r",S=(\d+)", by_id[qid].name).group(1))
        assert size == len(text), (qid, size, len(text))
    # Whatever else reached new/ (committed, reply lost in the kill) is
    # complete too: never a torn message.
    for name, f in files.items():
        text = f.read_bytes()
        assert re.search(rb"\nEND-t\d+-n\d+\n\Z", text), name
        assert b"\r" not in text

    # Restart on the same state dir: starts, and clears tmp/.
    old_log = p.logfile.with_suffix(".log.killed")
    p.logfile.rename(old_log)
    p.start()
    assert list((p.state / "tmp").iterdir()) == []
    assert sorted(new.iterdir()) == sorted(files.values())
    c = Client(p.connect())
    assert c.reply()[0] == 220
    c.cmd("EHLO after.example")
    c.cmd("MAIL FROM:<a@outside.test>")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: after the crash\r\n\r\nstill here\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    qid = re.search(r"queued as (\S+)", lines[0]).group(1)
    assert qid not in by_id
    c.cmd("QUIT")
    assert len(list(new.iterdir())) == len(files) + 1


def test_sigterm_during_flood_answers_commits_in_flight(make_pillory):
    """SIGTERM lets commits in flight finish: whoever got a 250 has the
    message, and the daemon exits 0."""
    p = make_pillory()
    stop = threading.Event()
    acked, errors = [], []
    threads = [threading.Thread(target=flooder,
                                args=(p, t, stop, acked, errors), daemon=True)
               for t in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    rc = p.stop()
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    assert rc == 0, p.log()[-2000:]
    assert errors == [], errors
    assert acked
    names = " ".join(f.name for f in p.maildir("alice").iterdir())
    assert [a for a in acked if a[0] not in names] == []


def test_client_gone_during_commit(make_pillory):
    """Clients that hang up right after the final dot, while the commit
    is in flight: no crash, no leak of a half-written message, and the
    daemon goes on serving."""
    p = make_pillory()
    for n in range(20):
        c = Client(p.connect())
        assert c.reply()[0] == 220
        c.send(b"EHLO gone.example\r\nMAIL FROM:<a@outside.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
        assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
        c.send(f"Subject: gone {n}\r\n\r\nbye\r\n.\r\nQUIT\r\n".encode())
        c.close()
    # A session whose client is gone lives until its commit ends (and
    # holds its per-address slot until then): wait for all of them.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and \
            p.log().count(" disconnect ") < 20:
        time.sleep(0.02)
    assert p.log().count(" disconnect ") == 20
    assert p.proc.poll() is None
    c = Client(p.connect())
    assert c.reply()[0] == 220
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    # Each either committed completely or not at all.
    for m in p.messages("alice"):
        assert re.search(rb"Subject: gone \d+\n\nbye\n\Z", m), m
    assert list((p.state / "tmp").iterdir()) == []
