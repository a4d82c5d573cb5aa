"""Day-to-day administration as someone coming from Postfix and Dovecot
expects it, through the real daemon: one delivery line per recipient in
the log (local, queue sent/deferred/bounced), refusals in words, process
titles, `pillory passwd` on a terminal, and the syslog warning."""
import os
import pty
import re
import select
import smtplib
import subprocess
import time

import pytest

from conftest import BIN, SAN_ENV, free_port, run
from mtasim import DNSMASQ, Dnsmasq, Receiver, port_is_free


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def send(p, sender, rcpts, body="Hello.\r\n"):
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: admin\r\n"
           f"\r\n{body}")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20) as s:
        s.ehlo("client.example.test")
        return s.sendmail(sender, rcpts, msg.encode())


# ---- delivery lines ------------------------------------------------------

def test_local_delivery_lines(pillory):
    p = pillory
    send(p, "someone@outside.test", ["info@example.test",
                                     "alice@example.test"])
    wait_for(lambda: p.log().count("relay=local") >= 2, what="2 lines")
    log = p.log()
    qid = re.search(r"queued id=(\S+)", log).group(1)
    # The alias expands to alice and bob: one line each; alice was also
    # named directly, so her line is the first one made (via the alias).
    assert re.search(
        rf"id={qid} from=<someone@outside.test> to=<alice@example.test> "
        r"orig_to=<info@example.test> relay=local dsn=2.0.0 status=sent "
        r"\(delivered to maildir\)", log), log
    assert re.search(
        rf"id={qid} from=<someone@outside.test> to=<bob@example.test> "
        r"orig_to=<info@example.test> relay=local .*status=sent", log), log
    assert log.count("relay=local") == 2
    send(p, "someone@outside.test", ["Alice@example.test"])
    wait_for(lambda: p.log().count("relay=local") >= 3, what="3rd line")
    # Same address: no orig_to (as Postfix).
    last = [ln for ln in p.log().splitlines() if "relay=local" in ln][-1]
    assert "orig_to" not in last and "to=<alice@example.test>" in last


def test_refusals_in_words(pillory):
    p = pillory
    sock = p.connect(source="127.0.0.2")
    f = sock.makefile("rb")

    def cmd(line):
        sock.sendall(line.encode() + b"\r\n")
        while True:
            r = f.readline().decode()
            if r[3:4] != "-":
                return r

    f.readline()
    cmd("EHLO attacker.test")
    cmd("MAIL FROM:<x@spam.test>")
    assert cmd("RCPT TO:<nobody@example.test>").startswith("550")
    assert cmd("RCPT TO:<victim@elsewhere.test>").startswith("554")
    cmd("QUIT")
    sock.close()
    log = p.log()
    assert re.search(
        r"reject: RCPT from unknown\[127\.0\.0\.2\]: 550 5\.1\.1 "
        r"<nobody@example\.test>: Recipient address rejected: User "
        r"unknown; helo=<attacker\.test> from=<x@spam\.test> "
        r"to=<nobody@example\.test>", log), log
    assert re.search(
        r"reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 Relay "
        r"access denied; helo=<attacker\.test> from=<x@spam\.test> "
        r"to=<victim@elsewhere\.test> verdict=deny", log), log
    assert "550-5.1.1" not in log


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    if not os.access(DNSMASQ, os.X_OK):
        pytest.skip("dnsmasq (package dnsmasq-base) is needed")
    d = Dnsmasq(tmp_path_factory.mktemp("dns"),
                mx=[("remote.test", "mx.remote.test", 10)],
                hosts=[("mx.remote.test", "127.0.0.2")])
    yield d
    d.stop()


@pytest.fixture
def remote(make_pillory, dns):
    for _ in range(50):
        port = free_port()
        if port_is_free(port, ["127.0.0.2"]):
            break
    made = []

    def factory(**kw):
        r = Receiver("127.0.0.2", port, **kw)
        made.append(r)
        p = make_pillory(**{"delivery__dns_servers": f"127.0.0.1:{dns.port}",
                            "delivery__port": str(port),
                            "delivery__retry": "1s"})
        return p, r, port

    yield factory
    for r in made:
        r.stop()


def test_queue_delivery_lines(remote):
    p, r, port = remote(rcpt={"gone@remote.test": ["550 5.1.1 no such user"],
                              "later@remote.test": ["451 4.3.0 try later",
                                                    "250 2.1.5 Ok"]})
    send(p, "alice@example.test", ["bob@remote.test", "gone@remote.test",
                                   "later@remote.test"])
    wait_for(lambda: "to=<later@remote.test>" in p.log() and
             re.search(r"to=<later@remote.test>.*status=sent", p.log()),
             what="the retry")
    log = p.log()
    qid = re.search(r"queued id=(\S+)", log).group(1)
    relay = rf"relay=mx\.remote\.test\[127\.0\.0\.2\]:{port}"
    assert re.search(
        rf"id={qid} from=<alice@example.test> to=<bob@remote.test> {relay} "
        r"delay=\d+\.\d dsn=2\.\d\.\d status=sent \(.*250", log), log
    assert re.search(
        rf"id={qid} from=<alice@example.test> to=<gone@remote.test> {relay} "
        r"delay=\S+ dsn=5\.1\.1 status=bounced \(.*no such user", log), log
    assert re.search(
        rf"id={qid} .*to=<later@remote.test> {relay} .*dsn=4\.3\.0 "
        r"status=deferred \(.*try later", log), log
    # grep for an address answers where the mail went.
    lines = [ln for ln in log.splitlines() if "to=<bob@remote.test>" in ln
             and "status=" in ln]
    assert len(lines) == 1


# ---- process titles ------------------------------------------------------

def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")[0].decode()


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def test_process_titles(pillory):
    pid = pillory.proc.pid
    assert cmdline(pid) == "pillory: engine"
    assert comm(pid) == "pillory: engine"
    kids = children(pid)
    assert [cmdline(k) for k in kids] == ["pillory: auth"], kids
    assert comm(kids[0]) == "pillory: auth"
    # ps agrees.
    ps = subprocess.run(["ps", "-o", "args=", "-p", f"{pid},{kids[0]}"],
                        capture_output=True, text=True)
    if ps.returncode == 0:
        assert sorted(ps.stdout.split("\n")[:2]) == \
            ["pillory: auth", "pillory: engine"], ps.stdout


# ---- pillory passwd on a terminal ---------------------------------------

def passwd_on_pty(answers, timeout=60):
    """Run `pillory passwd` on a new pseudo-terminal; answer each prompt."""
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.update(SAN_ENV)
    proc = subprocess.Popen([BIN, "passwd"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env,
                            start_new_session=True,
                            preexec_fn=lambda: __import__("fcntl").ioctl(
                                0, __import__("termios").TIOCSCTTY, 0))
    os.close(slave)
    seen = b""
    deadline = time.time() + timeout
    for a in answers:
        while b"password: " not in seen and time.time() < deadline:
            rd, _, _ = select.select([master], [], [], 1)
            if rd:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
        seen_prompt, seen = seen, b""
        assert b"password: " in seen_prompt, seen_prompt
        os.write(master, a.encode() + b"\n")
        # The typed password must not come back (echo off).
        time.sleep(0.2)
        rd, _, _ = select.select([master], [], [], 0.5)
        if rd:
            try:
                seen = os.read(master, 1024)
            except OSError:
                seen = b""
        assert a.encode() not in seen, seen
    out, err = proc.communicate(timeout=timeout)
    os.close(master)
    return proc.returncode, out.decode(), err.decode()


def test_passwd_terminal_twice():
    rc, out, err = passwd_on_pty(["s3cret pass", "s3cret pass"])
    assert rc == 0, err
    assert out.startswith("{SHA512-CRYPT}$6$"), out
    assert "s3cret" not in out and "s3cret" not in err


def test_passwd_terminal_mismatch():
    rc, out, err = passwd_on_pty(["one password", "another one"])
    assert rc == 1
    assert out == ""
    assert "do not match" in err


def test_passwd_pipe_unchanged():
    r = run(["passwd"], input="piped secret\n")
    assert r.returncode == 0 and r.stdout.startswith("{SHA512-CRYPT}$6$")
    assert "password:" not in r.stdout + r.stderr
    r = run(["passwd"], input="")
    assert r.returncode == 1 and "no password on stdin" in r.stderr


# ---- syslog --------------------------------------------------------------

def test_syslog_without_dev_log(make_pillory):
    if os.path.exists("/dev/log"):
        pytest.skip("/dev/log exists here: the warning is for hosts "
                    "without it")
    p = make_pillory(server__syslog="yes")
    assert re.search(r"warning: syslog = yes but /dev/log is not a socket",
                     p.log()), p.log()


def test_no_syslog_no_warning(pillory):
    assert "/dev/log" not in pillory.log()


def test_expired_line(remote):
    p, r, port = remote(rcpt={"slow@remote.test": ["451 4.3.2 try later"]})
    send(p, "alice@example.test", ["slow@remote.test"])
    wait_for(lambda: "status=deferred" in p.log(), what="an attempt")
    qid = re.search(r"queued id=(\S+)", p.log()).group(1)
    assert p.stop() == 0
    # Make it look five days and an hour old.
    envf = p.state / "queue" / f"{qid}.env"
    old = int(time.time()) - 5 * 86400 - 3600
    envf.write_text(re.sub(r"^arrival \d+$", f"arrival {old}",
                           envf.read_text(), flags=re.M))
    p.start()
    wait_for(lambda: "status=expired" in p.log(), what="the expiry")
    assert re.search(
        rf"id={qid} from=<alice@example.test> to=<slow@remote.test> "
        r"relay=none delay=4\d{5}\.0 dsn=4\.3\.2 status=expired \(message "
        r"expired after \d+s in the queue; last error: .*try later",
        p.log()), p.log()
    # The report to alice is a local delivery line of its own.
    wait_for(lambda: re.search(r"from=<> to=<alice@example.test> "
                               r"relay=local", p.log()), what="the report")
