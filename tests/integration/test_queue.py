"""Outbound queue and delivery (PRODUCT.md part 5, issue 6) through the
real daemon: a local dnsmasq answers MX, A and AAAA records for *.test,
receiving MTAs listen on loopback addresses (tests/integration/mtasim.py,
Postfix's smtp-sink for the relayhost), and mail comes in from 127.0.0.1,
which the test config trusts to relay.

Covered: MX delivery with preference and fallback, no MX (A, AAAA over
IPv6), relayhost (with AUTH over STARTTLS when the config has
relayhost_auth), 4xx retried until delivered, 5xx and queue timeout each
bouncing once into the local sender's Maildir (RFC 3464 report), null MX,
an MX that refuses connections, NXDOMAIN, loops (MX is our name, MX is our
listener, too many Received headers), one connection for several
recipients and several messages, PIPELINING, STARTTLS, SIZE, 8BITMIME,
HELO fallback, reports to remote senders through the queue, no report for
a null sender, a delay notice, kill -9 with messages in flight, and
`pillory queue list/show/flush/delete` with the daemon running and
stopped."""
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port, run
from mtasim import DNSMASQ, Dnsmasq, Receiver, make_cert, port_is_free


def _queue_wired():
    r = run(["--help"])
    return "\n  queue " in r.stdout


pytestmark = [
    pytest.mark.skipif(not _queue_wired(), reason="`pillory queue` and the "
                       "queue are not wired into main.c and serve.c yet "
                       "(issue 6 report)"),
    pytest.mark.skipif(not os.access(DNSMASQ, os.X_OK),
                       reason="dnsmasq (package dnsmasq-base) is needed"),
]

RX_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
            "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9", "::1"]
SINK = "/usr/sbin/smtp-sink"


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    d = Dnsmasq(
        tmp_path_factory.mktemp("dns"),
        mx=[("remote.test", "mx.remote.test", 10),
            ("other.test", "mx.remote.test", 10),
            ("pref.test", "dead.pref.test", 10),
            ("pref.test", "mx2.pref.test", 20),
            ("prio.test", "b.prio.test", 20),
            ("prio.test", "a.prio.test", 10),
            ("refuse.test", "dead.pref.test", 10),
            ("tls.test", "mx.tls.test", 10),
            ("loop.test", "mx.example.test", 10),
            ("self.test", "self.example.test", 10)],
        hosts=[("mx.remote.test", "127.0.0.2"),
               ("dead.pref.test", "127.0.0.9"),
               ("mx2.pref.test", "127.0.0.3"),
               ("a.prio.test", "127.0.0.4"),
               ("b.prio.test", "127.0.0.5"),
               ("amx.test", "127.0.0.6"),
               ("v6.test", "::1"),
               ("relay.test", "127.0.0.7"),
               ("mx.tls.test", "127.0.0.8"),
               ("self.example.test", "127.0.0.1")],
        null_mx=["nullmx.test"])
    yield d
    d.stop()


@pytest.fixture(scope="module")
def rxport():
    for _ in range(50):
        p = free_port()
        if port_is_free(p, RX_HOSTS):
            return p
    raise RuntimeError("no port free on every test address")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def rx(rxport):
    """Factory for receivers on the delivery port; stopped after the test."""
    made = []

    def factory(host, **kw):
        r = Receiver(host, rxport, **kw)
        made.append(r)
        return r

    yield factory
    for r in made:
        r.stop()


@pytest.fixture
def mk(make_pillory, dns, rxport):
    """A daemon whose DNS is dnsmasq and whose remote port is rxport."""

    def factory(start=True, **kw):
        conf = {"delivery__dns_servers": f"127.0.0.1:{dns.port}",
                "delivery__port": str(rxport), "delivery__retry": "1s"}
        conf.update(kw)
        return make_pillory(start=start, **conf)

    return factory


def send(p, sender, rcpts, subject="queue test", body="Hello.\r\n",
         headers=""):
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
           f"{headers}\r\n{body}")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20) as s:
        s.ehlo("client.example.test")
        refused = s.sendmail(sender, rcpts, msg.encode())
    assert refused == {}
    return msg


def smtp_answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            ok = s.recv(512).startswith(b"220")
            s.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


def queue_ids(p):
    q = p.state / "queue"
    return sorted(x.name[:-4] for x in q.glob("*.env"))


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_empty(p, timeout=20):
    q = p.state / "queue"
    wait_for(lambda: not any(q.iterdir()), timeout,
             f"empty queue; log:\n{p.log()[-3000:]}")


def reports(p, user="alice"):
    out = []
    for raw in p.messages(user):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        m.raw = raw.decode("utf-8", "replace")
        out.append(m)
    return out


def dsn_fields(msg):
    """The message/delivery-status part: (per-message, [per-recipient],
    parts), read from the raw Maildir file (LF line ends)."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert [x.get_content_type() for x in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]
    boundary = msg.get_boundary()
    status = [c for c in msg.raw.split("--" + boundary)
              if "Content-Type: message/delivery-status" in c][0]
    body = status.split("\n\n", 1)[1]
    groups = [g for g in re.split(r"\n\s*\n", body.strip()) if g.strip()]
    fields = []
    for g in groups:
        f = {}
        for ln in g.split("\n"):
            if ":" in ln and not ln[0].isspace():
                k, v = ln.split(":", 1)
                f[k.strip().lower()] = v.strip()
        fields.append(f)
    return fields[0], fields[1:], parts


def env_text(p, qid):
    return (p.state / "queue" / f"{qid}.env").read_text()


# ---- delivery by MX ------------------------------------------------------

def test_mx_delivery(mk, rx):
    r = rx("127.0.0.2")
    p = mk()
    send(p, "alice@example.test", ["bob@remote.test"],
         body="line one\r\n.starts with a dot\r\n..two dots\r\nend\r\n")
    t = r.wait(1)[0]
    assert t["mail"] == "alice@example.test"
    assert t["rcpts"] == ["bob@remote.test"]
    # Our Received line first, then the text dot-unstuffed intact.
    assert t["data"].startswith("Received: from client.example.test")
    assert "Subject: queue test" in t["data"]
    assert ("line one\r\n.starts with a dot\r\n..two dots\r\nend\r\n"
            in t["data"])
    assert "SIZE=" in t["params"]
    wait_empty(p)
    assert re.search(r"to=<bob@remote.test> relay=mx.remote.test\[127.0.0.2\]"
                     r".*status=sent", p.log())
    assert list((p.state / "queue").iterdir()) == []


def test_mx_preference_order(mk, rx):
    a, b = rx("127.0.0.4"), rx("127.0.0.5")
    p = mk()
    for i in range(3):
        send(p, "alice@example.test", [f"u{i}@prio.test"], subject=f"p{i}")
    a.wait(3)
    wait_empty(p)
    assert b.txns == [] and b.conns == 0


def test_primary_mx_refuses_secondary_takes_it(mk, rx):
    r = rx("127.0.0.3")         # nothing listens on 127.0.0.9
    p = mk()
    send(p, "alice@example.test", ["bob@pref.test"])
    assert r.wait(1)[0]["rcpts"] == ["bob@pref.test"]
    wait_empty(p)
    assert "dead.pref.test" in p.log()


def test_no_mx_falls_back_to_a(mk, rx):
    r = rx("127.0.0.6")
    p = mk()
    send(p, "alice@example.test", ["bob@amx.test"])
    assert r.wait(1)[0]["rcpts"] == ["bob@amx.test"]
    wait_empty(p)


def test_no_mx_aaaa_over_ipv6(mk, rx):
    r = rx("::1")
    p = mk()
    send(p, "alice@example.test", ["bob@v6.test"])
    assert r.wait(1)[0]["rcpts"] == ["bob@v6.test"]
    wait_empty(p)
    assert "[::1]" in p.log()


def test_mx_refusing_connections_defers(mk):
    p = mk()
    send(p, "alice@example.test", ["bob@refuse.test"])
    qid = wait_for(lambda: queue_ids(p), what="queued")[0]
    wait_for(lambda: "attempts" in env_text(p, qid), what="an attempt")
    env = env_text(p, qid)
    assert re.search(r"last-error .*(refused|connect)", env), env
    assert "rcpt-state" not in env      # still pending
    assert reports(p) == []             # no bounce for a 4xx situation


def test_several_recipients_one_transaction(mk, rx):
    r = rx("127.0.0.2")
    p = mk()
    send(p, "alice@example.test",
         ["a@remote.test", "b@remote.test", "c@remote.test",
          "d@other.test"])
    # remote.test and other.test share the MX host but are separate
    # destinations: two transactions; remote.test's three in one.
    txns = r.wait(2)
    byset = sorted(sorted(t["rcpts"]) for t in txns)
    assert byset == [["a@remote.test", "b@remote.test", "c@remote.test"],
                     ["d@other.test"]]
    wait_empty(p)


def test_messages_share_a_connection(mk, rx):
    r = rx("127.0.0.2", dot_delay=0.3)
    p = mk()
    n = 30
    for i in range(n):
        send(p, "alice@example.test", [f"x{i}@remote.test"], subject=f"m{i}")
    r.wait(n, timeout=40)
    wait_empty(p)
    # At most max_per_domain (20) connections at once; the messages that
    # wait behind them ride connections already open.
    assert r.max_active <= 20, r.max_active
    assert r.conns < n, r.conns
    assert max(sum(1 for t in r.txns if t["conn"] == c)
               for c in {t["conn"] for t in r.txns}) > 1


def test_concurrency_per_destination(mk, rx):
    if not supports_key(mk, "delivery__max_per_domain", "2"):
        pytest.skip("[delivery] max_per_domain is not in the config yet")
    r = rx("127.0.0.2", dot_delay=0.2)
    p = mk(delivery__max_per_domain="2")
    for i in range(8):
        send(p, "alice@example.test", [f"c{i}@remote.test"], subject=f"c{i}")
    r.wait(8, timeout=40)
    wait_empty(p)
    assert r.max_active <= 2, r.max_active
    assert r.conns <= 4, r.conns


def test_pipelining_used_when_offered(mk, rx):
    r = rx("127.0.0.2")
    p = mk()
    send(p, "alice@example.test", ["a@remote.test", "b@remote.test"])
    assert r.wait(1)[0]["pipelined"] is True


def test_no_pipelining_one_command_at_a_time(mk, rx):
    r = rx("127.0.0.2", ehlo=["SIZE 1000000", "8BITMIME"])
    p = mk()
    send(p, "alice@example.test", ["a@remote.test", "b@remote.test"])
    t = r.wait(1)[0]
    assert t["pipelined"] is False
    assert sorted(t["rcpts"]) == ["a@remote.test", "b@remote.test"]


def test_starttls_when_offered(mk, rx, cert):
    r = rx("127.0.0.8", tls=cert)
    p = mk()
    send(p, "alice@example.test", ["bob@tls.test"])
    assert r.wait(1)[0]["tls"] is True
    wait_empty(p)
    assert re.search(r"tls=\"TLSv1\.[23]", p.log())


def test_broken_starttls_falls_back_to_clear(mk, rx):
    r = rx("127.0.0.8", tls_broken=True)
    p = mk()
    send(p, "alice@example.test", ["bob@tls.test"])
    t = r.wait(1)[0]
    assert t["tls"] is False
    assert any(c[1] == "STARTTLS" for c in r.commands)
    assert "TLS handshake failed" in p.log()
    wait_empty(p)


def test_helo_fallback(mk, rx):
    r = rx("127.0.0.2", ehlo_reply="502 5.5.2 EHLO not implemented")
    p = mk()
    send(p, "alice@example.test", ["bob@remote.test"])
    t = r.wait(1)[0]
    assert t["params"] == ""            # no ESMTP, no SIZE=
    assert any(c[1].startswith("HELO ") for c in r.commands)


def test_eightbit_with_8bitmime(mk, rx):
    r = rx("127.0.0.2")
    p = mk()
    msg = ("From: <alice@example.test>\r\nSubject: caf\xe9\r\n\r\n"
           "na\xefve\r\n").encode("latin-1")
    with smtplib.SMTP("127.0.0.1", p.port) as s:
        s.sendmail("alice@example.test", ["bob@remote.test"], msg)
    assert "BODY=8BITMIME" in r.wait(1)[0]["params"]


# ---- relayhost ----------------------------------------------------------

@pytest.mark.skipif(not os.access(SINK, os.X_OK),
                    reason="smtp-sink (package postfix) is needed")
def test_relayhost_smtp_sink(mk, rxport):
    # smtp-sink drops root for user postfix, who must be able to write the
    # dump files: a directory of its own outside pytest's private tree.
    pw = pwd.getpwnam("postfix")
    out = Path(tempfile.mkdtemp(prefix="pillory-sink-"))
    os.chown(out, pw.pw_uid, pw.pw_gid)
    sink = subprocess.Popen([SINK, "-u", "postfix", "-d",
                             str(out / "%M%S."), f"127.0.0.7:{rxport}",
                             "10"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: smtp_answers("127.0.0.7", rxport), what="smtp-sink")
        # far.test has no DNS at all: only the relayhost is asked.
        p = mk(delivery__relayhost=f"[127.0.0.7]:{rxport}")
        send(p, "alice@example.test", ["x@far.test", "y@elsewhere.test"])
        wait_empty(p)
        files = wait_for(lambda: list(out.iterdir()), what="sink file")
        text = files[0].read_text(errors="replace")
        assert "x@far.test" in text and "y@elsewhere.test" in text
        assert "relay=127.0.0.7[127.0.0.7]" in p.log()
        assert sink.poll() is None
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(out, ignore_errors=True)


def test_relayhost_by_name(mk, rx):
    r = rx("127.0.0.7")
    p = mk(delivery__relayhost="[relay.test]")
    send(p, "alice@example.test", ["x@far.test"])
    assert r.wait(1)[0]["rcpts"] == ["x@far.test"]
    wait_empty(p)


def supports_key(mk, key, value):
    p = mk(start=False, **{key: value})
    p.write_config()
    r = p.cli("check")
    return r.returncode == 0


@pytest.mark.parametrize("mechs", ["PLAIN LOGIN", "LOGIN"])
def test_relayhost_auth_over_starttls(mk, rx, cert, tmp_path, mechs):
    creds = tmp_path / "relay-auth"
    creds.write_text("# relayhost credentials\n"
                     "[relay.test] site@example.test:s3cret pass\n")
    creds.chmod(0o600)
    if not supports_key(mk, "delivery__relayhost_auth", str(creds)):
        pytest.skip("[delivery] relayhost_auth is not in the config yet")
    r = rx("127.0.0.7", tls=cert, auth={"site@example.test": "s3cret pass"},
           auth_mechs=mechs)
    p = mk(delivery__relayhost="[relay.test]",
           delivery__relayhost_auth=str(creds))
    send(p, "alice@example.test", ["x@far.test"])
    t = r.wait(1)[0]
    assert t["tls"] is True and t["auth"] == "site@example.test"
    mech = mechs.split()[0]
    assert any(c[1].startswith("AUTH " + mech) for c in r.commands)
    wait_empty(p)
    assert "s3cret" not in p.log()


def test_relayhost_auth_refuses_without_tls(mk, rx, tmp_path):
    creds = tmp_path / "relay-auth"
    creds.write_text("* site:pw\n")
    creds.chmod(0o600)
    if not supports_key(mk, "delivery__relayhost_auth", str(creds)):
        pytest.skip("[delivery] relayhost_auth is not in the config yet")
    r = rx("127.0.0.7", auth={"site": "pw"})      # no STARTTLS offered
    p = mk(delivery__relayhost="[relay.test]",
           delivery__relayhost_auth=str(creds))
    send(p, "alice@example.test", ["x@far.test"])
    qid = wait_for(lambda: queue_ids(p), what="queued")[0]
    wait_for(lambda: "STARTTLS" in env_text(p, qid), what="deferral")
    assert r.txns == []
    assert not any(c[1].upper().startswith("AUTH") for c in r.commands)


# ---- temporary and permanent failures ----------------------------------

def test_4xx_retried_until_delivered(mk, rx):
    r = rx("127.0.0.2", rcpt={"bob@remote.test": [
        "451 4.7.1 greylisted, try again", "451 4.7.1 still greylisted",
        "250 2.1.5 Ok"]})
    p = mk()
    send(p, "alice@example.test", ["bob@remote.test", "carol@remote.test"])
    txns = r.wait(2, timeout=30)
    # carol went at the first attempt, bob at the third; once each.
    assert [t["rcpts"] for t in txns] == [["carol@remote.test"],
                                          ["bob@remote.test"]]
    wait_empty(p)
    assert p.log().count("status=deferred") == 2
    assert reports(p) == []


def test_5xx_bounces_once_to_local_sender(mk, rx):
    r = rx("127.0.0.2", rcpt={"nobody@remote.test": [
        "550 5.1.1 <nobody@remote.test>: Recipient address rejected"]})
    p = mk()
    send(p, "alice@example.test", ["nobody@remote.test", "bob@remote.test"],
         subject="doomed")
    assert r.wait(1)[0]["rcpts"] == ["bob@remote.test"]
    wait_empty(p)
    got = wait_for(lambda: reports(p), what="the report")
    time.sleep(1.5)                     # no second report comes
    got = reports(p)
    assert len(got) == 1
    m = got[0]
    assert m["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.test>"
    assert m["Auto-Submitted"] == "auto-replied"
    assert "Undelivered" in m["Subject"]
    per_msg, rcpts, parts = dsn_fields(m)
    assert per_msg["reporting-mta"] == "dns; mx.example.test"
    assert "arrival-date" in per_msg
    assert len(rcpts) == 1
    f = rcpts[0]
    assert f["final-recipient"] == "rfc822; nobody@remote.test"
    assert f["action"] == "failed"
    assert f["status"] == "5.1.1"
    assert f["remote-mta"] == "dns; mx.remote.test"
    assert f["diagnostic-code"].startswith("smtp; 550 5.1.1")
    headers = parts[2].get_payload()
    assert "Subject: doomed" in str(headers)
    # The report came with the null sender and never goes back out.
    assert "Return-Path" not in m or m["Return-Path"] in ("<>", None)
    assert re.search(r"queued id=\S+ .*from=<>|report \S+ to <alice",
                     p.log())


def test_data_5xx_bounces(mk, rx):
    rx("127.0.0.2", data=["554 5.6.0 content rejected"])
    p = mk()
    send(p, "alice@example.test", ["bob@remote.test"])
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.6.0"
    assert rcpts[0]["action"] == "failed"


def test_queue_timeout_bounces_once(mk, rx):
    r = rx("127.0.0.2", rcpt={"slow@remote.test": ["451 4.3.2 try later"]})
    p = mk()
    send(p, "alice@example.test", ["slow@remote.test"], subject="patience")
    qid = wait_for(lambda: queue_ids(p), what="queued")[0]
    wait_for(lambda: "attempts" in env_text(p, qid), what="an attempt")
    assert p.stop() == 0
    # Make it look five days and an hour old.
    env = env_text(p, qid)
    old = int(time.time()) - 5 * 86400 - 3600
    (p.state / "queue" / f"{qid}.env").write_text(
        re.sub(r"^arrival \d+$", f"arrival {old}", env, flags=re.M))
    p.start()
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")
    time.sleep(1.5)
    assert len(reports(p)) == 1
    _, rcpts, _ = dsn_fields(reports(p)[0])
    assert rcpts[0]["action"] == "failed"
    assert rcpts[0]["status"] == "4.3.2"
    assert "expired" in rcpts[0]["diagnostic-code"]
    assert r.txns == []
    assert "expired" in p.log()


def test_delay_notice(mk, rx):
    rx("127.0.0.2", rcpt={"slow@remote.test": ["451 4.3.2 try later"]})
    p = mk()
    send(p, "alice@example.test", ["slow@remote.test"])
    qid = wait_for(lambda: queue_ids(p), what="queued")[0]
    wait_for(lambda: "attempts" in env_text(p, qid), what="an attempt")
    assert p.stop() == 0
    env = env_text(p, qid)
    old = int(time.time()) - 5 * 3600       # past the 4h default
    (p.state / "queue" / f"{qid}.env").write_text(
        re.sub(r"^arrival \d+$", f"arrival {old}", env, flags=re.M))
    p.start()
    m = wait_for(lambda: reports(p), what="the delay notice")[0]
    assert "Delayed" in m["Subject"]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["action"] == "delayed"
    assert "will-retry-until" in rcpts[0]
    wait_for(lambda: "warned 1" in env_text(p, qid), what="warned")
    time.sleep(2)                           # more attempts, no more notices
    assert len(reports(p)) == 1
    assert qid in queue_ids(p)


def test_null_mx_bounces(mk):
    p = mk()
    send(p, "alice@example.test", ["bob@nullmx.test"])
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.1.10"
    assert "null MX" in rcpts[0]["diagnostic-code"]


def test_nxdomain_bounces(mk):
    p = mk()
    send(p, "alice@example.test", ["bob@no-such-domain.test"])
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.1.2"


def test_size_limit_respected(mk, rx):
    r = rx("127.0.0.2", ehlo=["PIPELINING", "SIZE 2000", "8BITMIME"])
    p = mk()
    send(p, "alice@example.test", ["bob@remote.test"], body="x" * 70 +
         "\r\n" * 1 + ("y" * 70 + "\r\n") * 60)
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.3.4"
    assert not any(c[1].startswith("MAIL") for c in r.commands)


def test_remote_sender_gets_report_through_queue(mk, rx):
    r = rx("127.0.0.2", rcpt={"nobody@remote.test": ["550 5.1.1 no such"]})
    p = mk()
    send(p, "someone@remote.test", ["nobody@remote.test"])
    t = r.wait(1)[0]
    assert t["mail"] == "" and t["rcpts"] == ["someone@remote.test"]
    assert "multipart/report" in t["data"]
    wait_empty(p)


def test_no_report_for_null_sender(mk, rx):
    rx("127.0.0.2", rcpt={"nobody@remote.test": ["550 5.1.1 no such"]})
    p = mk()
    send(p, "", ["nobody@remote.test"])
    wait_empty(p)
    time.sleep(0.5)
    assert reports(p) == []
    assert "dropped (null sender)" in p.log()


def test_report_to_unknown_local_sender_dropped(mk, rx):
    rx("127.0.0.2", rcpt={"nobody@remote.test": ["550 5.1.1 no such"]})
    p = mk()
    send(p, "ghost@example.test", ["nobody@remote.test"])
    wait_empty(p)
    wait_for(lambda: "has no mailbox; dropped" in p.log(), what="drop")


# ---- loops ---------------------------------------------------------------

def test_mx_is_ourselves_bounces(mk):
    p = mk()
    send(p, "alice@example.test", ["bob@loop.test"])
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.4.6"
    assert "loops back to myself" in rcpts[0]["diagnostic-code"]


def test_mx_address_is_our_listener_bounces(mk):
    p = mk(start=False)
    p.sections["delivery"]["port"] = str(p.port)
    p.start()
    send(p, "alice@example.test", ["bob@self.test"])
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert "loops back to myself" in rcpts[0]["diagnostic-code"]
    assert "one of our listeners" in p.log()


def test_too_many_hops_bounced_not_sent(mk, rx):
    r = rx("127.0.0.2")
    p = mk()
    hops = "".join(f"Received: from h{i}.example by h{i + 1}.example; "
                   f"Mon, 1 Jan 2024 00:00:00 +0000\r\n" for i in range(100))
    send(p, "alice@example.test", ["bob@remote.test"], headers=hops)
    wait_empty(p)
    m = wait_for(lambda: reports(p), what="the report")[0]
    _, rcpts, _ = dsn_fields(m)
    assert rcpts[0]["status"] == "5.4.6"
    assert r.conns == 0


# ---- crash safety ------------------------------------------------------

def test_kill9_in_flight_then_restart(mk, rx):
    # The receiver sits on each final dot for 3 s: at the kill every
    # transaction it has begun is unacknowledged.
    r = rx("127.0.0.2", dot_delay=3)
    p = mk()
    n = 20
    for i in range(n):
        send(p, "alice@example.test", [f"k{i}@remote.test"],
             subject=f"kill{i}")
    wait_for(lambda: any(c[1].startswith("MAIL") for c in r.commands),
             what="deliveries in flight")
    p.stop(signal.SIGKILL)
    assert len(queue_ids(p)) == n
    r.dot_delay = 0
    p.start()
    wait_empty(p, timeout=60)
    got = {re.search(r"Subject: (kill\d+)", t["data"]).group(1)
           for t in r.txns}
    assert got == {f"kill{i}" for i in range(n)}     # none lost
    assert list((p.state / "queue").iterdir()) == []
    assert reports(p) == []


def test_orphans_removed_at_start(mk):
    p = mk(start=False)
    q = p.state / "queue"
    q.mkdir(parents=True)
    (q / "0123456789abcdef0001.msg").write_text("Subject: orphan\n\nx\n")
    (q / "0123456789abcdef0002.env.tmp").write_text("junk")
    p.start()
    assert list(q.iterdir()) == []
    assert "1 orphans removed" in p.log()


def test_damaged_envelope_left_alone(mk):
    p = mk(start=False)
    q = p.state / "queue"
    q.mkdir(parents=True)
    (q / "0123456789abcdef0003.msg").write_text("Subject: x\n\nx\n")
    (q / "0123456789abcdef0003.env").write_text("pillory-envelope 1\nid ")
    p.start()
    assert sorted(x.name for x in q.iterdir()) == [
        "0123456789abcdef0003.env", "0123456789abcdef0003.msg"]
    assert "entry left alone" in p.log()


# ---- pillory queue ------------------------------------------------------

def test_queue_cli(mk, rx):
    rx("127.0.0.2", rcpt={"a@remote.test": ["451 4.7.1 come back later"],
                          "b@remote.test": ["451 4.7.1 come back later"]})
    p = mk(delivery__retry="1h")
    send(p, "alice@example.test", ["a@remote.test"], subject="first")
    send(p, "alice@example.test", ["b@remote.test"], subject="second")
    ids = wait_for(lambda: len(queue_ids(p)) == 2 and queue_ids(p),
                   what="two entries")
    for qid in ids:
        wait_for(lambda: "attempts 1" in env_text(p, qid), what="attempt")

    r = p.cli("queue", "list")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for qid in ids:
        assert qid in out
    assert "<alice@example.test>" in out
    assert "<a@remote.test> pending" in out
    assert "last error: 451 4.7.1 come back later" in out
    assert re.search(r"in (59m|60m|1h)", out), out
    assert "2 messages, 2 recipients pending" in out

    r = p.cli("queue", "show", ids[0])
    assert r.returncode == 0, r.stderr
    assert "attempts:   1" in r.stdout
    assert "recipient: <a@remote.test> pending 4.7.1 via mx.remote.test" \
        in r.stdout
    assert "Subject: first" in r.stdout

    r = p.cli("queue", "show", "0000000000000000dead")
    assert r.returncode == 1 and "no such message" in r.stderr

    r = p.cli("queue", "flush")
    assert r.returncode == 0 and "2 messages scheduled" in r.stdout
    wait_for(lambda: "attempts 2" in env_text(p, ids[0]), what="flushed")

    r = p.cli("queue", "delete", ids[1])
    assert r.returncode == 0, r.stderr
    assert queue_ids(p) == [ids[0]]
    assert not (p.state / "queue" / f"{ids[1]}.msg").exists()
    assert ids[1] not in p.cli("queue", "list").stdout

    assert p.cli("queue", "bogus").returncode == 2

    # Daemon stopped: list and show read the spool; flush cannot.
    assert p.stop() == 0
    r = p.cli("queue", "list")
    assert r.returncode == 0, r.stderr
    assert ids[0] in r.stdout and "not running" in r.stderr
    assert "1 message, 1 recipient pending" in r.stdout
    r = p.cli("queue", "show", ids[0])
    assert r.returncode == 0 and "Subject: first" in r.stdout
    r = p.cli("queue", "flush")
    assert r.returncode == 1 and "running" in r.stderr


def test_queue_cli_empty(mk):
    p = mk()
    r = p.cli("queue")
    assert r.returncode == 0 and "queue is empty" in r.stdout


def test_control_socket_refuses_other_users(mk):
    p = mk()
    sock = p.state / "control.sock"
    assert sock.exists()
    assert sock.stat().st_mode & 0o777 == 0o600
    # Open the way for another user (the test's own doing), so that only
    # the daemon's SO_PEERCRED check stands between them.
    os.chmod(p.state, 0o711)
    os.chmod(sock, 0o666)
    code = ("import os, socket\n"
            f"os.chdir({str(p.state)!r})\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "s.connect('control.sock')\n"
            # The daemon refuses at accept, before any command: read
            # first, or a send may race its close (EPIPE).
            "print(s.recv(4096).decode())\n")
    r = subprocess.run(["python3", "-c", code], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("error permission denied"), r.stdout
    deadline = time.time() + 5      # the log line may trail the reply
    while "control: refused a client with uid 65534" not in p.log() and \
            time.time() < deadline:
        time.sleep(0.05)
    assert "control: refused a client with uid 65534" in p.log()
    # root still may
    assert p.cli("queue", "list").returncode == 0
