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

import conftest
from conftest import Client, free_port


@pytest.fixture
def no_quarantine(monkeypatch):
    """AddressSanitizer keeps freed memory in quarantine (256 MB): RSS
    would measure the allocator's churn, not what the daemon holds."""
    monkeypatch.setitem(conftest.SAN_ENV, "ASAN_OPTIONS",
                        conftest.SAN_ENV["ASAN_OPTIONS"] +
                        ":quarantine_size_mb=0")


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


def test_ehlo_flood_without_reading_keeps_memory_bounded(make_pillory,
                                                         no_quarantine):
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


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    d.chmod(0o755)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", "/CN=mx.example.test",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


def _flood_tls(sock, seconds=8):
    """Send EHLOs over TLS without reading; the bytes sent."""
    import ssl
    chunk = b"EHLO a\r\n" * 2048
    sock.setblocking(False)
    total, stalled_since = 0, None
    deadline = time.time() + seconds
    while total < 16 * 1024 * 1024 and time.time() < deadline:
        try:
            total += sock.send(chunk)
            stalled_since = None
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):
            if stalled_since is None:
                stalled_since = time.time()
            elif time.time() - stalled_since > 1.5:
                break
            time.sleep(0.01)
    return total


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_ehlo_flood_over_tls_keeps_memory_bounded(make_pillory, cert, mode,
                                                  no_quarantine):
    import ssl
    smtps = free_port()
    p = make_pillory(**{"tls__cert": str(cert[0]), "tls__key": str(cert[1]),
                        "smtp__smtps": f"127.0.0.1:{smtps}",
                        "smtp__junk_command_limit": "10000000"})
    pid = p.proc.pid
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if mode == "starttls":
        c = greeted(p)
        assert c.cmd("EHLO a.example")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        raw = c.sock
    else:
        raw = p.connect(port=smtps)
    t = ctx.wrap_socket(raw, server_hostname="mx.example.test")
    if mode == "smtps":
        t.settimeout(10)
        assert t.recv(100).startswith(b"220")
    before = rss_kb(pid)
    total = _flood_tls(t)
    time.sleep(0.5)
    grown = rss_kb(pid) - before
    assert grown < 40 * 1024, f"RSS grew by {grown} KiB after {total} bytes"
    assert total < 16 * 1024 * 1024
    # Stuck with a full input buffer, the session does not spin.
    t0 = cpu_ticks(pid)
    time.sleep(1)
    used = cpu_ticks(pid) - t0
    assert used < 10, f"{used} ticks of CPU in 1 s while stuck"
    d = greeted(p)
    d.close()
    t.close()


def test_ehlo_flood_with_default_limit_ends_after_100(make_pillory,
                                                     no_quarantine):
    p = make_pillory()
    pid = p.proc.pid
    c = greeted(p)
    before = rss_kb(pid)
    c.sock.setblocking(False)
    chunk = b"EHLO a\r\n" * 8192
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            c.sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            break
    assert rss_kb(pid) - before < 40 * 1024
    c.sock.setblocking(True)
    c.sock.settimeout(10)
    codes = []
    try:
        while True:
            codes.append(c.reply()[0])
    except (EOFError, ConnectionResetError):
        pass
    # Unread input may make the kernel reset the connection before every
    # reply arrives; what arrived is 250s and at most one 421, at 101.
    assert set(codes) <= {250, 421}, set(codes)
    assert codes.count(250) <= 100
    if len(codes) > 100:
        assert codes[100] == 421
    c.close()
    assert "command flood" in p.log()


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


# ---- HTTP connection limits --------------------------------------------------


def http_pillory(make_pillory, **kw):
    port = free_port()
    conf = {"publish__http_listen": f"127.0.0.1:{port}"}
    conf.update(kw)
    p = make_pillory(**conf)
    p.http_port = port
    return p


def http_open(p, source="127.0.0.1"):
    return socket.create_connection(("127.0.0.1", p.http_port), timeout=5,
                                    source_address=(source, 0))


def http_get(p, source="127.0.0.1"):
    with http_open(p, source) as s:
        s.sendall(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def is_dropped(s, timeout=3):
    """True when the server closed s without a word."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_http_per_address_limit(make_pillory):
    p = http_pillory(make_pillory,
                     publish__http_max_connections_per_ip="3")
    held = [http_open(p) for _ in range(3)]
    assert http_get(p, "127.0.0.2").startswith(b"HTTP/1.1 404")
    extra = http_open(p)
    assert is_dropped(extra), "a 4th connection from one address was kept"
    extra.close()
    # The three are still served.
    held[0].sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    held[0].settimeout(5)
    assert held[0].recv(100).startswith(b"HTTP/1.1 404")
    for s in held:
        s.close()
    # Their slots come back (counts do not leak), also after requests.
    for _ in range(3):
        ok = False
        for _ in range(100):
            data = http_get(p)
            if data.startswith(b"HTTP/1.1 404"):
                ok = True
                break
            time.sleep(0.02)
        assert ok, "slots not released"
    held = [http_open(p) for _ in range(3)]
    time.sleep(0.3)
    assert not any(is_dropped(s, 0.2) for s in held)
    for s in held:
        s.close()


def test_http_total_limit(make_pillory):
    p = http_pillory(make_pillory, publish__http_max_connections="4")
    held = [http_open(p, f"127.0.0.{i + 2}") for i in range(4)]
    time.sleep(0.2)
    extra = http_open(p, "127.0.0.9")
    assert is_dropped(extra)
    extra.close()
    # SMTP is not affected.
    c = greeted(p)
    c.close()
    for s in held:
        s.close()


def test_http_header_deadline_beats_trickling(make_pillory):
    p = http_pillory(make_pillory, publish__http_header_timeout="1s")
    s = http_open(p)
    s.sendall(b"GET / HTTP/1.1\r\n")
    start = time.time()
    closed = False
    s.settimeout(0.25)
    while time.time() - start < 6:
        try:
            s.sendall(b"X")     # one byte of a header, now and then
            if s.recv(1) == b"":
                closed = True
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
    took = time.time() - start
    s.close()
    assert closed, "a trickling client held the connection"
    assert took < 4, took
    # An idle connection that never sends anything goes too.
    s = http_open(p)
    assert is_dropped(s, 4)
    s.close()


def _fds(pid):
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_http_cannot_starve_smtp_and_accept_never_spins(make_pillory):
    import resource
    p = http_pillory(make_pillory,
                     publish__http_max_connections_per_ip="1000",
                     publish__http_header_timeout="5m",
                     smtp__max_connections_per_ip="1000")
    pid = p.proc.pid
    limit = _fds(pid) + 48
    # (Lowering the hard limit cannot be undone without privilege; the
    # daemon is stopped at the end of the test anyway.)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    # HTTP takes what it may; the rest are closed at once.
    https = [http_open(p) for _ in range(60)]
    time.sleep(0.5)
    c = Client(p.connect(timeout=2))    # SMTP still gets its greeting
    assert c.reply()[0] == 220
    assert c.cmd("EHLO a.example")[0] == 250
    # Now use up the descriptors with SMTP itself.
    smtps = [c]
    waiting = None
    for _ in range(60):
        s = p.connect(timeout=5)
        x = Client(s)
        try:
            code, _ = x.reply()
        except socket.timeout:
            waiting = x         # in the backlog: accept is paused
            break
        assert code == 220
        smtps.append(x)
    assert waiting is not None, "never ran out of descriptors"
    log_before = p.log().count("accept on")
    t0 = cpu_ticks(pid)
    time.sleep(2)
    used = cpu_ticks(pid) - t0
    assert used < 60, f"{used} ticks of CPU in 2 s while out of fds"
    lines = p.log().count("accept on") - log_before
    assert lines <= 2, f"{lines} accept warnings in 2 s"
    # Descriptors come free: the waiting client is served.
    for x in smtps[:5]:
        x.close()
    waiting.sock.settimeout(10)
    assert waiting.reply()[0] == 220
    assert "pausing 100 ms" in p.log()
    for x in smtps[5:] + [waiting]:
        x.close()
    for s in https:
        s.close()


def test_http_connections_that_vanish_free_their_slots(make_pillory):
    import struct
    p = http_pillory(make_pillory,
                     publish__http_max_connections_per_ip="3")
    for i in range(200):
        s = http_open(p)
        if i % 2:
            # Reset at once: gone before or after the daemon looks.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        else:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")    # half a request
        s.close()
    deadline = time.time() + 10
    while True:
        held = [http_open(p) for _ in range(3)]
        time.sleep(0.2)
        if not any(is_dropped(s, 0.1) for s in held):
            break
        for s in held:
            s.close()
        assert time.time() < deadline, "slots leaked"
    for s in held:
        s.close()
    assert http_get(p).startswith(b"HTTP/1.1 404")


# ---- POP3 over TLS: a client that never reads ------------------------------


def test_pop3_stls_pipelining_without_reading_does_not_spin(make_pillory,
                                                            cert):
    import ssl
    pp = free_port()
    p = make_pillory(**{"tls__cert": str(cert[0]), "tls__key": str(cert[1]),
                        "pop3__listen": f"127.0.0.1:{pp}"})
    pid = p.proc.pid
    s = socket.create_connection(("127.0.0.1", pp), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"STLS\r\n")
    assert f.readline().startswith(b"+OK")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="mx.example.test")
    total = _flood_tls_lines(t, b"CAPA\r\n")
    assert total < 64 * 1024 * 1024
    t0 = cpu_ticks(pid)
    time.sleep(1)
    used = cpu_ticks(pid) - t0
    assert used < 10, f"{used} ticks of CPU in 1 s while stuck"
    # Reading again, the client gets its answers.
    t.setblocking(True)
    t.settimeout(10)
    assert t.recv(100).startswith(b"+OK")
    t.close()


def _flood_tls_lines(sock, line, seconds=6):
    import ssl
    chunk = line * (16384 // len(line))
    sock.setblocking(False)
    total, stalled_since = 0, None
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            total += sock.send(chunk)
            stalled_since = None
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):
            if stalled_since is None:
                stalled_since = time.time()
            elif time.time() - stalled_since > 1.5:
                break
            time.sleep(0.01)
    return total
