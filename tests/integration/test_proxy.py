"""HAProxy PROXY protocol v1 and v2 through the real daemon. On the
listener named in proxy_protocol the header's source address is the client
for every decision (relay, trust, limits) and log line; a bad or missing
header ends the connection before any greeting; the ordinary listener never
gives a PROXY line any meaning."""
import json
import re
import socket
import struct
import time

import pytest

from conftest import Client, proxy_v1

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
ATTACKER = "211.219.235.140"


def proxy_v2(src, dst="192.0.2.25", sport=40000, dport=25, tlvs=b""):
    """A v2 PROXY command header (version 2, command PROXY, STREAM)."""
    if ":" in src:
        fam = 0x21   # AF_INET6 | STREAM
        addrs = socket.inet_pton(socket.AF_INET6, src) + \
            socket.inet_pton(socket.AF_INET6, dst)
    else:
        fam = 0x11   # AF_INET | STREAM
        addrs = socket.inet_pton(socket.AF_INET, src) + \
            socket.inet_pton(socket.AF_INET, dst)
    body = addrs + struct.pack("!HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def proxy_v2_local(body=b""):
    """A v2 LOCAL command (health check): the real address stays."""
    return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", len(body)) + body


def tlv(t, value):
    return bytes([t]) + struct.pack("!H", len(value)) + value


def proxied(p, header, source="127.0.0.1"):
    """Connect to the PROXY listener, send header, expect the greeting."""
    c = Client(p.connect(port=p.proxy_port, source=source))
    c.send(header)
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def relay_attempt(c, rcpt="x@remote.test", sender="bbbb@gabacho-net.jp"):
    code, lines = c.cmd("EHLO c.example")
    assert code == 250, lines
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    return c.cmd(f"RCPT TO:<{rcpt}>")


def ehlo_peer(c):
    """The address the server believes: EHLO's reply says [ip]."""
    code, lines = c.cmd("EHLO c.example")
    assert code == 250
    m = re.search(r"\[([^\]]+)\]", lines[0])
    assert m, lines
    return m.group(1)


def queue_files(p):
    q = p.state / "queue"
    return sorted(x.name for x in q.iterdir()) if q.exists() else []


def closed_without_greeting(c, timeout=5):
    assert c.closed(timeout), "connection still open"
    assert b"220" not in c.buf, c.buf
    return True


# ---- v1 -------------------------------------------------------------------


def test_v1_attacker_address_is_used(pillory):
    c = proxied(pillory, proxy_v1(ATTACKER, sport=51234))
    code, lines = relay_attempt(c)
    assert code == 554 and lines[0].startswith("5.7.1"), (code, lines)
    c.cmd("QUIT")
    log = pillory.log()
    assert re.search(rf"connect ip={re.escape(ATTACKER)} "
                     rf"port={pillory.proxy_port} listener=mx proxy=yes\n",
                     log), log
    assert re.search(rf"reject: RCPT from \S+\[{re.escape(ATTACKER)}\]: .*to=<x@remote\.test>"
                     r" verdict=deny attack=spoofed-relay", log), log
    assert queue_files(pillory) == []


def test_v1_address_in_ehlo_received_and_attack_log(pillory):
    c = proxied(pillory, proxy_v1(ATTACKER))
    assert ehlo_peer(c) == ATTACKER
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: via lb\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<victim@empal.com>")[0] == 554
    c.cmd("QUIT")
    c.close()
    msgs = pillory.messages("alice")
    assert len(msgs) == 1
    received = [ln for ln in msgs[0].split(b"\n")
                if ln.startswith(b"Received:")][0]
    assert f"(unknown [{ATTACKER}])".encode() in received
    assert b"127.0.0.1" not in msgs[0]
    assert pillory.stop() == 0
    r = pillory.cli("log", "--json")
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert [(x["client_ip"], x["kind"], x["to"]) for x in recs] == \
        [(ATTACKER, "relay", "victim@empal.com")], recs


def test_v1_trusted_source_may_relay(pillory):
    """Proof that the proxied address decides: the LB connects from
    127.0.0.2 (untrusted), the header says 127.0.0.1 (trusted)."""
    c = proxied(pillory, proxy_v1("127.0.0.1"), source="127.0.0.2")
    code, lines = relay_attempt(c, sender="alice@example.test")
    assert code == 250, (code, lines)
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: out\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    assert len(queue_files(pillory)) == 2
    assert re.search(r"connect ip=127\.0\.0\.1 .*proxy=yes trusted=yes",
                     pillory.log())


def test_v1_untrusted_source_through_trusted_lb(pillory):
    """The converse: the LB itself is trusted, the client it proxies is
    not: the relay is refused."""
    c = proxied(pillory, proxy_v1("127.0.0.2"), source="127.0.0.1")
    code, lines = relay_attempt(c)
    assert code == 554, (code, lines)


def test_v1_tcp6(pillory):
    c = proxied(pillory, proxy_v1("2001:db8::25", dst="2001:db8::1"))
    assert ehlo_peer(c) == "2001:db8::25"
    c.cmd("RSET")
    code, lines = relay_attempt(c)
    assert code == 554, (code, lines)
    c = proxied(pillory, proxy_v1("::1", dst="::1"))
    code, lines = relay_attempt(c)
    assert code == 250, (code, lines)   # ::1/128 is trusted


def test_v1_unknown_keeps_real_address(pillory):
    c = proxied(pillory, b"PROXY UNKNOWN\r\n", source="127.0.0.2")
    assert ehlo_peer(c) == "127.0.0.2"
    c.cmd("RSET")
    code, _ = relay_attempt(c)
    assert code == 554


def test_v1_header_in_pieces(pillory):
    c = Client(pillory.connect(port=pillory.proxy_port))
    for b in proxy_v1(ATTACKER):
        c.send(bytes([b]))
    assert c.reply()[0] == 220
    assert ehlo_peer(c) == ATTACKER


# ---- v2 -------------------------------------------------------------------


def test_v2_ipv4(pillory):
    c = proxied(pillory, proxy_v2(ATTACKER))
    assert ehlo_peer(c) == ATTACKER
    c.cmd("RSET")
    code, lines = relay_attempt(c)
    assert code == 554 and lines[0].startswith("5.7.1"), (code, lines)
    assert f"connect ip={ATTACKER} " in pillory.log()


def test_v2_ipv4_trusted_source(pillory):
    c = proxied(pillory, proxy_v2("127.0.0.1"), source="127.0.0.2")
    code, lines = relay_attempt(c)
    assert code == 250, (code, lines)


def test_v2_ipv6(pillory):
    c = proxied(pillory, proxy_v2("2001:db8:ffff::7", dst="2001:db8::25"))
    assert ehlo_peer(c) == "2001:db8:ffff::7"
    c.cmd("RSET")
    code, lines = relay_attempt(c)
    assert code == 554, (code, lines)
    assert "connect ip=2001:db8:ffff::7 " in pillory.log()
    c = proxied(pillory, proxy_v2("::1", dst="::1"), source="127.0.0.2")
    code, lines = relay_attempt(c)
    assert code == 250, (code, lines)


def test_v2_v4_mapped_ipv6(pillory):
    """::ffff:a.b.c.d is the IPv4 client a.b.c.d, for trust and logs."""
    c = proxied(pillory, proxy_v2(f"::ffff:{ATTACKER}",
                                  dst="::ffff:192.0.2.1"))
    assert ehlo_peer(c) == ATTACKER
    c.cmd("RSET")
    assert relay_attempt(c)[0] == 554
    c = proxied(pillory, proxy_v2("::ffff:127.0.0.1", dst="::1"),
                source="127.0.0.2")
    assert relay_attempt(c)[0] == 250


def test_v2_with_tlvs(pillory):
    """HAProxy adds TLVs (ALPN, authority, unique id, NOOP padding); they
    are skipped."""
    tl = tlv(0x01, b"smtp") + tlv(0x02, b"mx.example.test") + \
        tlv(0x05, b"abcdef0123456789") + tlv(0x04, b"\x00" * 20)
    c = proxied(pillory, proxy_v2(ATTACKER, tlvs=tl))
    assert ehlo_peer(c) == ATTACKER


def test_v2_header_in_pieces(pillory):
    c = Client(pillory.connect(port=pillory.proxy_port))
    h = proxy_v2("198.51.100.9")
    for i in range(0, len(h), 5):
        c.send(h[i:i + 5])
    assert c.reply()[0] == 220
    assert ehlo_peer(c) == "198.51.100.9"


# LOCAL keeps the proxy's address for the limits, but never its trust: a
# proxy on a trusted address must not make its clients trusted.
@pytest.mark.parametrize("source,code", [("127.0.0.2", 554),
                                         ("127.0.0.1", 554)])
def test_v2_local_keeps_real_address(pillory, source, code):
    c = proxied(pillory, proxy_v2_local(), source=source)
    assert ehlo_peer(c) == source
    c.cmd("RSET")
    got, lines = relay_attempt(c)
    assert got == code, (got, lines)


def test_v2_proxy_unspec_keeps_real_address(pillory):
    """PROXY command with family UNSPEC: the receiver uses the real
    connection's addresses (spec 2.2)."""
    h = V2_SIG + bytes([0x21, 0x00]) + struct.pack("!H", 0)
    c = proxied(pillory, h, source="127.0.0.2")
    assert ehlo_peer(c) == "127.0.0.2"
    c.cmd("RSET")
    assert relay_attempt(c)[0] == 554


def test_v2_local_with_ignored_address_block(pillory):
    """LOCAL with an address block (allowed: the receiver skips it)."""
    body = socket.inet_aton(ATTACKER) + socket.inet_aton("192.0.2.1") + \
        struct.pack("!HH", 1, 25)
    h = V2_SIG + bytes([0x20, 0x11]) + struct.pack("!H", len(body)) + body
    c = proxied(pillory, h, source="127.0.0.2")
    assert ehlo_peer(c) == "127.0.0.2"


# ---- invalid or missing headers ------------------------------------------


BAD_HEADERS = {
    "garbage": b"HELLO there\r\n",
    "smtp-first": b"EHLO c.example\r\n",
    "v1-missing-fields": b"PROXY TCP4 1.2.3.4\r\n",
    "v1-bad-address": b"PROXY TCP4 1.2.3.400 192.0.2.1 1 25\r\n",
    "v1-family-mismatch": b"PROXY TCP4 ::1 ::1 1 25\r\n",
    "v1-port-range": b"PROXY TCP4 1.2.3.4 192.0.2.1 65536 25\r\n",
    "v1-leading-zero": b"PROXY TCP4 1.2.3.4 192.0.2.1 01 25\r\n",
    "v1-lowercase": b"proxy TCP4 1.2.3.4 192.0.2.1 1 25\r\n",
    "v1-bare-lf": b"PROXY TCP4 1.2.3.4 192.0.2.1 1 25\n",
    "v1-overlong": b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n",
    "v1-overlong-no-eol": b"PROXY TCP4 " + b"1" * 200,
    "v2-bad-version": V2_SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12,
    "v2-bad-command": V2_SIG + b"\x22\x11\x00\x0c" + b"\x00" * 12,
    "v2-short-inet": V2_SIG + b"\x21\x11\x00\x04" + b"\x01\x02\x03\x04",
    "v2-udp": V2_SIG + b"\x21\x12\x00\x0c" + b"\x01" * 12,
    "v2-bad-tlv": proxy_v2(ATTACKER, tlvs=b"\x01\x00\x09ab"),
    "v2-too-long": V2_SIG + b"\x21\x11\xff\xff" + b"\x00" * 600,
}


@pytest.mark.parametrize("header", list(BAD_HEADERS.values()),
                         ids=list(BAD_HEADERS))
def test_invalid_header_closes_without_greeting(pillory, header):
    c = Client(pillory.connect(port=pillory.proxy_port))
    try:
        c.send(header)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_without_greeting(c)
    assert "invalid PROXY header from 127.0.0.1" in pillory.log()


def test_no_header_times_out(make_pillory):
    p = make_pillory(**{"smtp__proxy_timeout": "1s"})
    c = Client(p.connect(port=p.proxy_port))
    t0 = time.monotonic()
    assert closed_without_greeting(c, timeout=10)
    assert 0.8 <= time.monotonic() - t0 < 5
    assert "PROXY header timeout ip=127.0.0.1" in p.log()


def test_hangup_before_header_logs_real_address(pillory):
    """Every log line names the client: before a header, its real one."""
    c = Client(pillory.connect(port=pillory.proxy_port, source="127.0.0.2"))
    c.send(b"PROXY TCP4 ")
    c.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and " disconnect " not in pillory.log():
        time.sleep(0.02)
    assert re.search(r" disconnect ip=127\.0\.0\.2 ", pillory.log()), \
        pillory.log()


def test_partial_header_times_out(make_pillory):
    p = make_pillory(**{"smtp__proxy_timeout": "1s"})
    c = Client(p.connect(port=p.proxy_port))
    c.send(b"PROXY TCP4 203.0.113.")
    t0 = time.monotonic()
    assert closed_without_greeting(c, timeout=10)
    assert 0.8 <= time.monotonic() - t0 < 5


def test_proxy_timeout_does_not_hit_after_header(make_pillory):
    """Once the header is in, the PROXY timer is gone."""
    p = make_pillory(**{"smtp__proxy_timeout": "1s"})
    c = proxied(p, proxy_v1(ATTACKER))
    time.sleep(1.5)
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd("QUIT")[0] == 221


def test_bytes_after_header_are_early_talk(pillory):
    c = Client(pillory.connect(port=pillory.proxy_port))
    c.send(proxy_v1(ATTACKER) + b"EHLO hurry.example\r\n")
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), (code, lines)
    assert c.closed()
    assert f"early talker ip={ATTACKER}" in pillory.log()


def test_bytes_after_v2_header_are_early_talk(pillory):
    c = Client(pillory.connect(port=pillory.proxy_port))
    c.send(proxy_v2(ATTACKER) + b"MAIL FROM:<x@evil.test>\r\n")
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), (code, lines)
    assert c.closed()


def test_early_talk_after_header_with_greet_pause(make_pillory):
    p = make_pillory(**{"smtp__greet_pause": "1s"})
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(ATTACKER))
    time.sleep(0.2)
    c.send(b"EHLO hurry.example\r\n")
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), (code, lines)
    assert c.closed()
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(ATTACKER))
    assert c.reply()[0] == 220


# ---- the ordinary listener ignores PROXY ---------------------------------


def test_proxy_line_on_plain_port_is_unknown_command(pillory):
    c = Client(pillory.connect(source="127.0.0.2"))
    assert c.reply()[0] == 220
    code, lines = c.cmd("PROXY TCP4 127.0.0.1 127.0.0.1 40000 25")
    assert code == 500, (code, lines)
    assert ehlo_peer(c) == "127.0.0.2"
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@remote.test>")
    assert code == 554 and lines[0].startswith("5.7.1"), (code, lines)
    assert queue_files(pillory) == []
    assert "connect ip=127.0.0.1" not in pillory.log()


def test_proxy_line_before_greeting_on_plain_port(make_pillory):
    """With greet_pause, a PROXY header sent first to the plain port is
    just early talk."""
    p = make_pillory(**{"smtp__greet_pause": "1s"})
    c = Client(p.connect(source="127.0.0.2"))
    c.send(proxy_v1("127.0.0.1"))
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), (code, lines)
    assert c.closed()


def test_proxy_v2_on_plain_port_never_quits(pillory):
    """The v2 signature holds "QUIT\\n": with strict CRLF it is not a
    command, and the binary addresses never change the client."""
    c = Client(pillory.connect(source="127.0.0.2"))
    assert c.reply()[0] == 220
    c.send(proxy_v2("127.0.0.1") + b"\r\n")
    # "" / "" / "\0" / "QUIT\n<binary>": four refused lines
    codes = [c.reply()[0] for _ in range(4)]
    assert codes == [500, 500, 500, 500], codes
    code, _ = c.cmd("VRFY probe")
    assert code == 252
    assert ehlo_peer(c) == "127.0.0.2"
    c.cmd("MAIL FROM:<alice@example.test>")
    assert c.cmd("RCPT TO:<x@remote.test>")[0] == 554
