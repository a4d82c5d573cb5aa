"""Postfix companion, policy service: a real private Postfix
(postfix_instance.py) asks the real daemon's [policy] listener about every
relay attempt. The 2002 attack replayed through Postfix with XCLIENT gives
18 spoofed-relay records in the seed's line format; a Dovecot login
imported with `pillory import` opens relay through Postfix for that
address; the raw protocol: many requests per connection, every request
answered, other states DUNNO, bounded lines, many connections at once,
unix sockets."""
import re
import shutil
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import free_port
from postfix_instance import Postfix, available, private_dir

pytestmark = pytest.mark.skipif(not available(),
                                reason="needs postfix and root")

# The 18 attempts of the 2002 attack, as the seed logged them (recipient
# local parts were masked there; any will do).
SENDERS = ["bbbb", "good", "abc", "aabb", "aacd", "abcd", "hello", "day",
           "baby", "cccc", "cat", "andy", "aaab", "aaac", "aaad", "aabb",
           "aabc", "abcc"]
ATTACKER = "211.219.235.140"
LINE_RE = re.compile(
    r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d  unknown \[211\.219\.235\.140\] "
    r"from=<(\w+)@gabacho-net\.jp> to=<(\S+)@empal\.com>$")


def policy_pillory(make_pillory, extra=None):
    port = free_port()
    over = {"smtp__listen": "", "smtp__proxy_protocol": "",
            "relay__trusted_networks": "",
            "policy__listen": f"127.0.0.1:{port}"}
    over.update(extra or {})
    p = make_pillory(**over)
    p.policy_port = port
    return p


@pytest.fixture
def postfix_factory():
    made = []

    def factory(policy):
        pf = Postfix(private_dir(), policy=policy)
        made.append(pf)
        return pf.start()

    yield factory
    for pf in made:
        pf.stop()
        shutil.rmtree(pf.dir, ignore_errors=True)


def replay_attack(pf):
    codes = []
    for i, local in enumerate(SENDERS):
        s = pf.xclient_session(ATTACKER)
        s.docmd(f"MAIL FROM:<{local}@gabacho-net.jp>")
        codes.append(s.docmd(f"RCPT TO:<r{i:02d}@empal.com>")[0])
        s.quit()
    return codes


def wait_records(p, n, timeout=15):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        r = p.cli("log")
        lines = [x for x in r.stdout.splitlines() if x.strip()]
        if len(lines) >= n:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"{len(lines)} records, wanted {n}: {lines}")


def test_serve_with_only_policy_listener(make_pillory):
    p = policy_pillory(make_pillory)
    assert "(policy)" in p.log()
    # No SMTP listener was opened.
    assert "(smtp" not in p.log().lower()


def test_2002_attack_through_postfix(make_pillory, postfix_factory):
    p = policy_pillory(make_pillory)
    pf = postfix_factory(f"inet:127.0.0.1:{p.policy_port}")
    codes = replay_attack(pf)
    # Postfix refused all 18 (the policy said DUNNO, then
    # reject_unauth_destination).
    assert codes == [554] * 18
    lines = wait_records(p, 18)
    assert len(lines) == 18
    got = []
    for line in lines:
        m = LINE_RE.match(line)
        assert m, line
        got.append(m.group(1))
    assert got == SENDERS
    masked = p.cli("log", "--mask").stdout.splitlines()
    assert all("to=<******@empal.com>" in x for x in masked)
    js = p.cli("log", "--json").stdout
    assert js.count('"kind":"spoofed-relay"') == 18
    assert '"helo":"x"' in js
    # A recipient in our own domain never reaches the policy service
    # (permit_auth_destination comes first): no record.
    s = pf.xclient_session(ATTACKER)
    s.docmd("MAIL FROM:<x@other.example>")
    assert s.docmd("RCPT TO:<postmaster@gabacho-net.jp>")[0] == 250
    s.quit()
    # A sender outside our domains makes a plain relay record.
    s = pf.xclient_session("192.0.2.77", name="mail.attacker.example")
    s.docmd("MAIL FROM:<spam@elsewhere.example>")
    assert s.docmd("RCPT TO:<victim@empal.com>")[0] == 554
    s.quit()
    lines = wait_records(p, 19)
    assert len(lines) == 19
    assert "mail.attacker.example [192.0.2.77] from=<spam@elsewhere" \
        in lines[-1]
    assert '"kind":"relay"' in p.cli("log", "--json").stdout


def test_dovecot_login_opens_relay(make_pillory, postfix_factory):
    p = policy_pillory(make_pillory)
    pf = postfix_factory(f"inet:127.0.0.1:{p.policy_port}")
    now = datetime.now(timezone.utc).astimezone().isoformat(
        timespec="microseconds")
    log = p.dir / "dovecot.log"
    log.write_text(
        f"{now} mx dovecot[812]: pop3-login: Login: "
        "user=<carol@gabacho-net.jp>, method=PLAIN, rip=198.51.100.20, "
        "lip=192.0.2.1, mpid=2213, TLS, session=<aBcD>\n")
    r = p.cli("import", "--format", "dovecot", str(log))
    assert r.returncode == 0, r.stderr
    assert "1 grants" in r.stdout
    assert "198.51.100.20" in p.cli("grants").stdout
    s = pf.xclient_session("198.51.100.20")
    s.docmd("MAIL FROM:<carol@gabacho-net.jp>")
    assert s.docmd("RCPT TO:<friend@empal.com>")[0] == 250
    s.quit()
    # Another address is still refused and recorded.
    s = pf.xclient_session("198.51.100.21")
    s.docmd("MAIL FROM:<carol@gabacho-net.jp>")
    assert s.docmd("RCPT TO:<friend@empal.com>")[0] == 554
    s.quit()
    lines = wait_records(p, 1)
    assert len(lines) == 1 and "[198.51.100.21]" in lines[0]
    assert "grant for 198.51.100.20: OK" in p.log()


def policy_request(state="RCPT", addr="203.0.113.5", sender="a@b.example",
                   rcpt="c@d.example", extra=""):
    return (f"request=smtpd_access_policy\nprotocol_state={state}\n"
            f"protocol_name=ESMTP\nclient_address={addr}\n"
            f"client_name=unknown\nreverse_client_name=unknown\n"
            f"helo_name=h\nsender={sender}\nrecipient={rcpt}\n"
            f"recipient_count=0\nqueue_id=\nsize=0\nserver_port=25\n"
            f"{extra}\n").encode()


def read_answer(sock):
    buf = b""
    while not buf.endswith(b"\n\n"):
        chunk = sock.recv(4096)
        assert chunk, "policy service closed the connection"
        buf += chunk
    return buf


def test_protocol_many_requests_one_connection(make_pillory):
    p = policy_pillory(make_pillory)
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=10)
    # Pipelined: three requests in one write, three answers in order.
    s.sendall(policy_request("CONNECT") + policy_request("MAIL") +
              policy_request("RCPT", extra="future_attribute=1\n"))
    buf = b""
    while buf.count(b"\n\n") < 3:
        chunk = s.recv(4096)
        assert chunk
        buf += chunk
    assert buf == b"action=DUNNO\n\n" * 3
    assert b"\r" not in buf
    # An idle connection stays open: Postfix closes it, not us.
    time.sleep(1.5)
    s.sendall(policy_request("RCPT"))
    assert read_answer(s) == b"action=DUNNO\n\n"
    # An over-long line and a line without '=' still get an answer.
    s.sendall(b"request=smtpd_access_policy\nhelo_name=" + b"x" * 70000 +
              b"\nprotocol_state=RCPT\nclient_address=203.0.113.9\n\n")
    assert read_answer(s) == b"action=DUNNO\n\n"
    s.sendall(b"garbage line\nprotocol_state=RCPT\n\n")
    assert read_answer(s) == b"action=DUNNO\n\n"
    s.close()
    lines = wait_records(p, 2)
    # Only the two valid RCPT requests made records.
    time.sleep(0.5)
    assert len(p.cli("log").stdout.splitlines()) == 2
    assert "malformed request" in p.log()


def test_protocol_concurrent_connections(make_pillory):
    p = policy_pillory(make_pillory)
    n, per = 100, 20
    errors = []

    def worker(i):
        try:
            s = socket.create_connection(("127.0.0.1", p.policy_port),
                                         timeout=20)
            for j in range(per):
                s.sendall(policy_request("RCPT", addr=f"10.{i}.{j}.1"))
                assert read_answer(s) == b"action=DUNNO\n\n"
            s.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    lines = wait_records(p, n * per, timeout=30)
    assert len(lines) == n * per


def test_unix_socket(make_pillory, tmp_path):
    path = tmp_path / "private-pillory"
    port = free_port()
    p = make_pillory(**{"smtp__listen": "", "smtp__proxy_protocol": "",
                        "policy__listen":
                            f"127.0.0.1:{port}, unix:{path}"})
    assert path.is_socket()
    assert path.stat().st_mode & 0o777 == 0o666
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(str(path))
    s.sendall(policy_request("RCPT", addr="2001:db8::5",
                             sender="x@gabacho-net.jp"))
    assert read_answer(s) == b"action=DUNNO\n\n"
    s.close()
    lines = wait_records(p, 1)
    assert "[2001:db8::5] from=<x@gabacho-net.jp>" in lines[0]
    assert '"kind":"spoofed-relay"' in p.cli("log", "--json").stdout


def test_default_domains(make_pillory):
    p = policy_pillory(make_pillory,
                       {"policy__default_domains": "other.example"})
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=10)
    s.sendall(policy_request(sender="a@gabacho-net.jp"))
    read_answer(s)
    s.sendall(policy_request(sender="a@Other.Example"))
    read_answer(s)
    s.close()
    wait_records(p, 2)
    js = p.cli("log", "--json").stdout.splitlines()
    assert '"kind":"relay"' in js[0]
    assert '"kind":"spoofed-relay"' in js[1]


def test_check_refuses_bad_listen(make_pillory):
    p = make_pillory(start=False, **{"policy__listen": "unix:relative"})
    p.write_config()
    r = p.cli("check")
    assert r.returncode == 1
    assert "[policy] listen" in r.stderr + r.stdout


def test_postfix_over_unix_socket(make_pillory):
    """As the README sets it up: pillory's socket in Postfix's private/,
    Postfix names it `unix:private/pillory`."""
    pf = Postfix(private_dir(), policy="unix:private/pillory")
    try:
        pf.start()
        sock = pf.queue / "private" / "pillory"
        p = make_pillory(**{"smtp__listen": "", "smtp__proxy_protocol": "",
                            "policy__listen": f"unix:{sock}"})
        s = pf.xclient_session(ATTACKER)
        s.docmd("MAIL FROM:<bbbb@gabacho-net.jp>")
        assert s.docmd("RCPT TO:<r@empal.com>")[0] == 554
        s.quit()
        lines = wait_records(p, 1)
        assert LINE_RE.match(lines[0]), lines[0]
        assert "problem talking to server" not in pf.log()
    finally:
        pf.stop()
        shutil.rmtree(pf.dir, ignore_errors=True)


def test_slow_reader_gets_every_answer(make_pillory):
    """A peer that writes many requests before reading any answer: the
    service stops reading at its output ceiling, resumes when the peer
    reads, and answers every request in order."""
    p = policy_pillory(make_pillory)
    n = 150000
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=30)
    sender = threading.Thread(target=s.sendall,
                              args=(b"request=smtpd_access_policy\n"
                                    b"protocol_state=MAIL\n\n" * n,))
    sender.start()
    time.sleep(1.0)
    want = b"action=DUNNO\n\n" * n
    got = b""
    while len(got) < len(want):
        chunk = s.recv(65536)
        assert chunk
        got += chunk
    sender.join(30)
    assert got == want
    s.close()


def test_banned_client_gets_reject(make_pillory):
    """A network banned with `pillory bans add` is refused through Postfix's
    policy check at once; other clients still get DUNNO, and a banned
    client's requests are not recorded again."""
    p = policy_pillory(make_pillory)
    r = p.cli("bans", "add", "198.51.100.0/24", "1h")
    assert r.returncode == 0, r.stderr
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=10)
    deadline = time.time() + 5
    while True:
        s.sendall(policy_request(addr="198.51.100.7"))
        answer = read_answer(s)
        if answer.startswith(b"action=REJECT") or time.time() > deadline:
            break
        time.sleep(0.1)
    assert answer.startswith(b"action=REJECT 5.7.1"), answer
    s.sendall(policy_request(addr="203.0.113.9"))
    assert read_answer(s) == b"action=DUNNO\n\n"
    s.close()
    r = p.cli("bans", "remove", "198.51.100.0/24")
    assert r.returncode == 0, r.stderr
