"""Network-facing resource guarantees through the real daemon: memory per
SMTP session stays bounded against a client that never reads, floods of
non-mail commands end with 421, the HTTP listener has its own connection
limits and never starves SMTP of descriptors, accept errors never spin,
an MX that points back at us fails at once, IPv6 clients are counted by
/64, and PROXY UNKNOWN / LOCAL never inherit a trusted address."""
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import Client, free_port


def rss_kb(pid):
    for ln in open(f"/proc/{pid}/status"):
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1])
    raise AssertionError("no VmRSS")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])    # utime + stime


def greeted(p, source="127.0.0.1", port=None):
    c = Client(p.connect(port=port, source=source))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def log_json(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def wait_records(p, pred, timeout=10):
    deadline = time.time() + timeout
    recs = []
    while time.time() < deadline:
        recs = log_json(p)
        if pred(recs):
            return recs
        time.sleep(0.05)
    raise AssertionError(f"records never matched: {recs!r}")


# ---- 1. memory per SMTP session ---------------------------------------------


def test_ehlo_flood_without_reading_keeps_memory_bounded(make_pillory):
    # A limit high enough that only flow control can stop the growth.
    p = make_pillory(**{"smtp__junk_command_limit": "10000000"})
    pid = p.proc.pid
    c = greeted(p)
    before = rss_kb(pid)
    chunk = b"EHLO a\r\n" * 8192                  # 64 KiB
    total, goal = 0, 16 * 1024 * 1024
    c.sock.setblocking(False)
    deadline = time.time() + 8
    stalled_since = None
    while total < goal and time.time() < deadline:
        try:
            total += c.sock.send(chunk)
            stalled_since = None
        except BlockingIOError:
            # The daemon stopped reading: that is the point.
            if stalled_since is None:
                stalled_since = time.time()
            elif time.time() - stalled_since > 1.5:
                break
            time.sleep(0.01)
    time.sleep(0.5)
    grown = rss_kb(pid) - before
    assert grown < 40 * 1024, f"RSS grew by {grown} KiB after {total} bytes"
    # Reading stopped well before the 16 MiB (kernel buffers hold a few).
    assert total < goal, "the daemon read all 16 MiB without replies read"
    # Others are still served meanwhile.
    d = greeted(p)
    assert d.cmd("EHLO ok.example")[0] == 250
    assert d.cmd("QUIT")[0] == 221
    d.close()
    # Once the client reads, the held commands are answered in order.
    c.sock.setblocking(True)
    c.sock.settimeout(10)
    got = 0
    while got < 200:
        code, _ = c.reply()
        assert code == 250
        got += 1
    c.close()
    assert "AddressSanitizer" not in p.log()


def test_noop_flood_gets_421_and_a_record(make_pillory):
    # Not a trusted network: the flood is an attack.
    p = make_pillory(**{"relay__trusted_networks": "10.99.0.0/16",
                        "smtp__junk_command_limit": "30"})
    c = greeted(p)
    assert c.cmd("EHLO flood.example")[0] == 250
    for _ in range(29):
        assert c.cmd("NOOP")[0] == 250
    code, lines = c.cmd("NOOP")
    assert code == 421, (code, lines)
    assert "too many commands" in lines[0]
    assert c.closed()
    c.close()
    assert "command flood" in p.log()
    recs = wait_records(p, lambda r: any(
        x.get("kind") == "protocol" and "flood" in json.dumps(x) for x in r))
    assert recs


def test_pipelined_junk_flood_ends(make_pillory):
    p = make_pillory()      # the default limit (100)
    c = greeted(p)
    c.send(b"RSET\r\nNOOP\r\nHELP\r\nVRFY x\r\n" * 60)
    codes = []
    while True:
        try:
            codes.append(c.reply()[0])
        except EOFError:
            break
    assert codes[-1] == 421, codes[-5:]
    assert codes.count(421) == 1
    assert len(codes) == 101, len(codes)
    c.close()


def test_junk_count_starts_again_after_a_message(make_pillory):
    p = make_pillory(**{"smtp__junk_command_limit": "5"})
    c = greeted(p)
    for i in range(3):
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("MAIL FROM:<x@remote.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        code, lines = c.cmd(f"Subject: {i}\r\n\r\nhello\r\n.")
        assert code == 250, lines
    assert c.cmd("QUIT")[0] == 221
    c.close()


# ---- PROXY UNKNOWN / LOCAL -------------------------------------------------


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


@pytest.mark.parametrize("header", [
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
    V2_SIG + b"\x20\x00\x00\x00",               # v2 LOCAL
    V2_SIG + b"\x21\x00\x00\x00",               # v2 PROXY, AF_UNSPEC
])
def test_proxy_unknown_is_never_trusted(pillory, header):
    # The proxy itself runs on 127.0.0.1, a trusted network.
    c = Client(pillory.connect(port=pillory.proxy_port, source="127.0.0.1"))
    c.send(header)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<victim@elsewhere.test>")
    assert code == 554, (code, lines)
    # Mail for local users is still taken.
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert "proxy=unknown" in pillory.log()
    assert "proxy=unknown trusted=yes" not in pillory.log()


def test_proxy_known_trusted_source_still_trusted(pillory):
    c = Client(pillory.connect(port=pillory.proxy_port, source="127.0.0.2"))
    c.send(b"PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n")
    assert c.reply()[0] == 220
    assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<victim@elsewhere.test>")[0] == 250
    c.close()


# ---- IPv6 clients are counted by /64 ---------------------------------------


def test_ipv6_clients_counted_by_64(make_pillory):
    p = make_pillory(**{"smtp__max_connections_per_ip": "3"})
    held = []

    def proxied(src):
        c = Client(p.connect(port=p.proxy_port))
        c.send(f"PROXY TCP6 {src} 2001:db8::25 40000 25\r\n".encode())
        return c, c.reply()

    for i in range(3):
        c, (code, _) = proxied(f"2001:db8:1:2::{i + 1:x}")
        assert code == 220
        held.append(c)
    # Another address in the same /64: over the limit.
    c, (code, lines) = proxied("2001:db8:1:2:ffff:1:2:3")
    assert code == 421, (code, lines)
    assert "too many connections from your address" in lines[0]
    c.close()
    # Another /64 is not affected.
    c, (code, _) = proxied("2001:db8:1:3::1")
    assert code == 220
    held.append(c)
    for c in held:
        c.close()


# ---- an MX that points back at us ------------------------------------------


def _queue_helpers():
    import email
    import email.policy
    return email, email.policy


@pytest.fixture(scope="module")
def loopdns(tmp_path_factory):
    from mtasim import DNSMASQ, Dnsmasq
    import os
    if not os.access(DNSMASQ, os.X_OK):
        pytest.skip("dnsmasq (package dnsmasq-base) is needed")
    d = Dnsmasq(
        tmp_path_factory.mktemp("loopdns"),
        mx=[("mapped.test", "mx.mapped.test", 10),
            ("zero.test", "mx.zero.test", 10),
            ("zero6.test", "mx.zero6.test", 10)],
        hosts=[("mx.mapped.test", "::ffff:127.0.0.1"),
               ("mx.zero.test", "0.0.0.0"),
               ("mx.zero6.test", "::")])
    yield d
    d.stop()


def _reports(p, user="alice"):
    email, policy = _queue_helpers()
    return [email.message_from_bytes(raw, policy=policy.default)
            for raw in p.messages(user)]


def _wait(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("domain,port_is_ours", [
    ("mapped.test", True),      # ::ffff:127.0.0.1 on our listener's port
    ("zero.test", False),       # 0.0.0.0: this host, whatever the port
    ("zero6.test", False),      # ::
])
def test_mx_pointing_back_at_us_bounces_at_once(make_pillory, loopdns,
                                                domain, port_is_ours):
    import smtplib
    p = make_pillory(start=False, **{
        "delivery__dns_servers": f"127.0.0.1:{loopdns.port}",
        "delivery__retry": "1s"})
    p.sections["delivery"]["port"] = str(p.port if port_is_ours
                                         else free_port())
    p.start()
    msg = (f"From: <alice@example.test>\r\nTo: <bob@{domain}>\r\n"
           f"Subject: loop\r\n\r\nHello.\r\n")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20) as s:
        s.ehlo("client.example.test")
        assert s.sendmail("alice@example.test", [f"bob@{domain}"],
                          msg.encode()) == {}
    rep = _wait(lambda: _reports(p), what=f"the report; {p.log()[-2000:]}")
    raw = rep[0].as_string()
    assert "loops back to myself" in raw, raw
    assert "5.4.6" in raw
    time.sleep(1.5)     # a retry (1s) would show up now
    log = p.log()
    # One message in, one report: it never went around.
    assert log.count(" queued id=") <= 2, log[-3000:]
    assert "too many hops" not in log
    assert log.count("one of our listeners or this host") == 1, log[-3000:]
