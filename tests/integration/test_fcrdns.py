"""Forward-confirmed reverse DNS of clients (issue 3), against a private
dnsmasq on a free loopback port ([delivery] dns_servers points the daemon
at it). Clients come through the PROXY listener, so any source address
can be played. The name is looked up while the greeting goes out: tests
wait (bounded) for the daemon's debug line "SID client name NAME" before
they check what the name is used for, so a slow look-up is never mistaken
for a wrong one."""
import json
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import Client, proxy_v1

DNSMASQ = "/usr/sbin/dnsmasq"
VICTIM = "victim@empal.com"

GOOD4 = "192.0.2.10"        # PTR good.example.net, A back to it
LIAR4 = "192.0.2.20"        # PTR liar.example.net, A 192.0.2.99
NX4 = "192.0.2.30"          # no PTR: NXDOMAIN
MULTI4 = "192.0.2.40"       # PTRs first (A elsewhere), second (A back)
GOOD6 = "2001:db8::25"      # PTR good6.example.net, AAAA back to it
LIAR6 = "2001:db8::26"      # PTR liar6.example.net, AAAA 2001:db8::99
NX6 = "2001:db8::27"

RECORDS = [
    "--host-record=good.example.net,192.0.2.10",
    "--ptr-record=20.2.0.192.in-addr.arpa,liar.example.net",
    "--host-record=liar.example.net,192.0.2.99",
    "--ptr-record=40.2.0.192.in-addr.arpa,first.example.net",
    "--ptr-record=40.2.0.192.in-addr.arpa,second.example.net",
    "--host-record=first.example.net,192.0.2.41",
    "--host-record=second.example.net,192.0.2.40",
    "--host-record=good6.example.net,2001:db8::25",
    "--ptr-record=" + ".".join(reversed(
        "20010db8000000000000000000000026")) + ".ip6.arpa,liar6.example.net",
    "--host-record=liar6.example.net,2001:db8::99",
    # Ten bots with confirmed names (PTR and A both ways).
] + [f"--host-record=bot{i}.example.net,192.0.2.{110 + i}"
     for i in range(10)] + [
    # Cacheable answers (dnsmasq's default TTL for its own data is 0).
    "--local-ttl=300",
    # Only local data for these zones: anything else is NXDOMAIN.
    "--local=/in-addr.arpa/", "--local=/ip6.arpa/", "--local=/example.net/",
]


@pytest.fixture(autouse=True)
def debug_log(monkeypatch):
    """The daemon logs "SID client name NAME" at debug level."""
    monkeypatch.setenv("PILLORY_DEBUG", "1")
    monkeypatch.setenv("TZ", "UTC")


# ---- a tiny DNS client, to know dnsmasq is up and says what we think ------

def dns_query(port, name, qtype, timeout=1.0):
    """(rcode, answer count) from 127.0.0.1:port over UDP."""
    qid = int(time.time() * 1000) & 0xffff
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(4096)
    _, flags, _, an, _, _ = struct.unpack("!HHHHHH", r[:12])
    return flags & 0xF, an


def free_udp_tcp_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class Dnsmasq:
    def __init__(self, tmp):
        self.port = free_udp_tcp_port()
        self.log = tmp / "dnsmasq.log"
        self.proc = subprocess.Popen(
            [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
             f"--port={self.port}", "--listen-address=127.0.0.1",
             "--bind-interfaces", "--conf-file=/dev/null", "--user=root",
             "--log-queries", f"--log-facility={self.log}"] + RECORDS,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq: " + self.proc.stderr.read()
                                   .decode(errors="replace"))
            try:
                if dns_query(self.port, "good.example.net", 1,
                             timeout=0.2) == (0, 1):
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("dnsmasq did not answer")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


@pytest.fixture
def dnsmasq(tmp_path):
    d = Dnsmasq(tmp_path)
    yield d
    d.stop()


@pytest.fixture
def pdns(make_pillory, dnsmasq):
    """A daemon resolving through the private dnsmasq."""
    return make_pillory(delivery__dns_servers=f"127.0.0.1:{dnsmasq.port}")


def test_dnsmasq_says_what_the_tests_assume(dnsmasq):
    """The fixture itself: if this fails, the others mean nothing."""
    p = dnsmasq.port
    assert dns_query(p, "10.2.0.192.in-addr.arpa", 12) == (0, 1)
    assert dns_query(p, "20.2.0.192.in-addr.arpa", 12) == (0, 1)
    assert dns_query(p, "liar.example.net", 1) == (0, 1)
    assert dns_query(p, "30.2.0.192.in-addr.arpa", 12) == (3, 0)
    assert dns_query(p, "40.2.0.192.in-addr.arpa", 12) == (0, 2)
    six = ".".join(reversed("20010db8000000000000000000000025"))
    assert dns_query(p, six + ".ip6.arpa", 12) == (0, 1)
    assert dns_query(p, "good6.example.net", 28) == (0, 1)


# ---- helpers ------------------------------------------------------------------

def proxied(p, src):
    dst = "::1" if ":" in src else "127.0.0.1"
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(src, dst=dst))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def client_name(p, ip, timeout=10):
    """The daemon's answer for the newest session from ip (debug log)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = p.log()
        sids = re.findall(rf"(\w+) connect ip={re.escape(ip)} ", text)
        if sids:
            m = re.search(rf"{sids[-1]} client name (\S+)", text)
            if m:
                return m.group(1)
        time.sleep(0.02)
    raise AssertionError(f"no client name for {ip}: " + p.log()[-3000:])


def ehlo_name(c):
    code, lines = c.cmd("EHLO client.example")
    assert code == 250, lines
    m = re.match(r"^mx\.example\.test Hello (\S+) \[([^\]]+)\]$", lines[0])
    assert m, lines
    return m.group(1), m.group(2)


def log_json(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def wait_record(p, ip, n=1, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = [x for x in log_json(p) if x["client_ip"] == ip]
        if len(recs) >= n:
            return recs
        time.sleep(0.05)
    raise AssertionError(f"no record for {ip}: {log_json(p)!r}")


def relay_after_name(p, ip):
    """Connect as ip, wait for the look-up, then one refused relay.
    Returns (name in the debug log, name in EHLO, the record)."""
    c = proxied(p, ip)
    name = client_name(p, ip)
    ehlo, shown_ip = ehlo_name(c)
    assert shown_ip == ip
    assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{VICTIM}>")
    assert code == 554, lines
    assert c.cmd("QUIT")[0] == 221
    c.close()
    rec = wait_record(p, ip)[-1]
    assert rec["kind"] == "spoofed-relay"
    return name, ehlo, rec


# ---- names ---------------------------------------------------------------------

def test_confirmed_name_v4(pdns):
    name, ehlo, rec = relay_after_name(pdns, GOOD4)
    assert name == "good.example.net"
    assert ehlo == "good.example.net"
    assert rec["client_name"] == "good.example.net"
    line = pdns.cli("log").stdout.splitlines()[-1]
    assert re.match(r"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d  "
                    r"good\.example\.net \[192\.0\.2\.10\] "
                    r"from=<bbbb@gabacho-net\.jp> to=<victim@empal\.com>$",
                    line), line
    s = json.loads(pdns.cli("stats", "--json").stdout)
    assert s["incidents"]["recent"][0]["client_name"] == "good.example.net"


def test_confirmed_name_in_received_header(pdns):
    c = proxied(pdns, GOOD4)
    assert client_name(pdns, GOOD4) == "good.example.net"
    assert c.cmd("EHLO helo.example")[0] == 250
    assert c.cmd("MAIL FROM:<friend@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: fcrdns\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    msgs = pdns.messages("alice")
    assert len(msgs) == 1
    assert b"Received: from helo.example (good.example.net [192.0.2.10])" \
        in msgs[0], msgs[0][:400]


def test_ptr_pointing_elsewhere_is_unknown(pdns, dnsmasq):
    name, ehlo, rec = relay_after_name(pdns, LIAR4)
    assert name == "unknown"
    assert ehlo == "unknown"
    assert rec["client_name"] == "unknown"
    # It did look the PTR name up before refusing it.
    assert "query[A] liar.example.net" in dnsmasq.log.read_text()


def test_nxdomain_is_unknown(pdns, dnsmasq):
    name, ehlo, rec = relay_after_name(pdns, NX4)
    assert (name, ehlo, rec["client_name"]) == ("unknown",) * 3
    assert "30.2.0.192.in-addr.arpa" in dnsmasq.log.read_text()


def test_second_ptr_name_that_confirms(pdns):
    """Several PTR names: the one whose A records hold the address."""
    name, ehlo, rec = relay_after_name(pdns, MULTI4)
    assert name == "second.example.net"
    assert rec["client_name"] == "second.example.net"


def test_confirmed_name_v6(pdns, dnsmasq):
    name, ehlo, rec = relay_after_name(pdns, GOOD6)
    assert name == "good6.example.net"
    assert ehlo == "good6.example.net"
    assert rec["client_name"] == "good6.example.net"
    assert rec["client_ip"] == GOOD6
    assert "query[AAAA] good6.example.net" in dnsmasq.log.read_text()
    line = pdns.cli("log").stdout.splitlines()[-1]
    assert "  good6.example.net [2001:db8::25] from=<bbbb@gabacho-net.jp>" \
        in line, line
    s = json.loads(pdns.cli("stats", "--json").stdout)
    assert s["top_networks"][0]["network"] == "2001:db8::/48"


def test_v6_ptr_pointing_elsewhere_and_nxdomain(pdns):
    for ip in (LIAR6, NX6):
        name, ehlo, rec = relay_after_name(pdns, ip)
        assert (name, ehlo, rec["client_name"]) == ("unknown",) * 3, ip


def test_cached_answer_for_the_next_session(pdns, dnsmasq):
    relay_after_name(pdns, GOOD4)
    before = dnsmasq.log.read_text().count("query[PTR] 10.2.0.192")
    name, ehlo, rec = relay_after_name(pdns, GOOD4)
    assert name == ehlo == rec["client_name"] == "good.example.net"
    # The second session was named from the cache, at once.
    assert dnsmasq.log.read_text().count("query[PTR] 10.2.0.192") == before


# ---- a DNS server that never answers ---------------------------------------

@pytest.fixture
def black_hole():
    """A UDP socket nobody reads: queries vanish, no ICMP comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def test_silent_dns_never_slows_a_session(make_pillory, black_hole):
    port = black_hole.getsockname()[1]
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{port}")
    ip = "198.51.100.77"
    t0 = time.monotonic()
    c = proxied(p, ip)
    name, _ = ehlo_name(c)
    assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{VICTIM}>")
    assert c.cmd("QUIT")[0] == 221
    elapsed = time.monotonic() - t0
    c.close()
    assert code == 554, lines
    assert name == "unknown"
    assert elapsed < 2.0, f"relay attempt took {elapsed:.2f} s"
    rec = wait_record(p, ip)[0]
    assert rec["client_name"] == "unknown"
    # The query did go to the black hole.
    black_hole.setblocking(False)
    data, _ = black_hole.recvfrom(4096)
    assert len(data) > 12


def test_silent_dns_times_out_to_unknown(make_pillory, black_hole):
    """A session that stays: the look-up ends (c-ares timeouts run on the
    loop) with "unknown", and the session works on."""
    port = black_hole.getsockname()[1]
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{port}")
    ip = "198.51.100.78"
    c = proxied(p, ip)
    t0 = time.monotonic()
    # 2 s per try, two tries: well within 15 s.
    assert client_name(p, ip, timeout=15) == "unknown"
    took = time.monotonic() - t0
    assert took >= 1.0, took      # it really waited for the server
    # Meanwhile and afterwards the session is responsive.
    t1 = time.monotonic()
    assert c.cmd("NOOP")[0] == 250
    assert ehlo_name(c)[0] == "unknown"
    assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
    assert c.cmd(f"RCPT TO:<{VICTIM}>")[0] == 554
    assert time.monotonic() - t1 < 1.0
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert wait_record(p, ip)[0]["client_name"] == "unknown"


def test_session_closed_while_lookup_pending(make_pillory, black_hole):
    """Sessions that leave before their answer: the request is cancelled,
    the daemon stays up and clean (ASan)."""
    port = black_hole.getsockname()[1]
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{port}")
    for i in range(20):
        c = proxied(p, f"198.51.100.{100 + i}")
        c.close()
    c = proxied(p, "198.51.100.99")
    assert c.cmd("NOOP")[0] == 250
    c.cmd("QUIT")
    c.close()
    assert p.proc.poll() is None


# ---- records wait for the name, sessions do not (pipelining bots) ----------

BOTS = [(f"192.0.2.{110 + i}", f"bot{i}.example.net") for i in range(10)]


def test_whole_attempt_in_one_write_gets_the_confirmed_name(pdns):
    """Ten bots send PROXY header, EHLO, MAIL, RCPT and QUIT in one write
    and go, long before the look-up can end: every record carries the
    forward-confirmed name all the same."""
    for ip, _ in BOTS:
        s = pdns.connect(port=pdns.proxy_port)
        s.sendall(proxy_v1(ip) + b"EHLO bot\r\nMAIL FROM:<bbbb@example.test>"
                  b"\r\nRCPT TO:<" + VICTIM.encode() + b">\r\nQUIT\r\n")
        s.close()
    deadline = time.time() + 15
    while time.time() < deadline:
        recs = [r for r in log_json(pdns)
                if r["client_ip"].startswith("192.0.2.1")]
        if len({r["client_ip"] for r in recs}) == 10:
            break
        time.sleep(0.1)
    by_ip = {}
    for r in recs:
        by_ip.setdefault(r["client_ip"], []).append(r)
    assert sorted(by_ip) == sorted(ip for ip, _ in BOTS), recs
    for ip, name in BOTS:
        for r in by_ip[ip]:
            assert r["client_name"] == name, r


def test_pipelined_after_greeting_gets_the_confirmed_name(pdns):
    """PIPELINING after the greeting (RFC 2920), connection dropped at
    once: the refused relays are recorded under the confirmed name."""
    socks = []
    for ip, _ in BOTS:
        c = proxied(pdns, ip)
        c.send(b"EHLO bot\r\nMAIL FROM:<bbbb@example.test>\r\n"
               b"RCPT TO:<" + VICTIM.encode() + b">\r\nQUIT\r\n")
        socks.append(c)
    for c in socks:
        c.close()
    recs = []
    deadline = time.time() + 15
    while time.time() < deadline:
        recs = [r for r in log_json(pdns, "--kind", "spoofed-relay")
                if r["client_ip"].startswith("192.0.2.1")]
        if len(recs) == 10:
            break
        time.sleep(0.1)
    assert len(recs) == 10, recs
    names = dict(BOTS)
    for r in recs:
        assert r["client_name"] == names[r["client_ip"]], r


class SlowDns:
    """A UDP relay in front of dnsmasq that holds every answer for a
    while: the look-up ends well after the bot has gone."""

    def __init__(self, upstream, delay):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.upstream = upstream
        self.delay = delay
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import threading
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            threading.Timer(self.delay, self.answer, (q, peer)).start()

    def answer(self, q, peer):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.settimeout(1)
                u.sendto(q, ("127.0.0.1", self.upstream))
                r = u.recv(4096)
            self.sock.sendto(r, peer)
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


def test_slow_dns_record_waits_session_does_not(make_pillory, dnsmasq):
    """Answers take 0.6 s per query (PTR, then A): the bot's session is
    over in milliseconds, its record comes later with the name."""
    slow = SlowDns(dnsmasq.port, 0.6)
    try:
        p = make_pillory(delivery__dns_servers=f"127.0.0.1:{slow.port}")
        ip, name = BOTS[0]
        t0 = time.monotonic()
        c = proxied(p, ip)
        c.send(b"EHLO bot\r\nMAIL FROM:<bbbb@example.test>\r\n"
               b"RCPT TO:<" + VICTIM.encode() + b">\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(4)]
        took = time.monotonic() - t0
        c.close()
        assert codes == [250, 250, 554, 221], codes
        assert took < 0.5, f"the session waited {took:.2f} s"
        # Not written yet: it waits for the name ...
        assert [r for r in log_json(p) if r["client_ip"] == ip] == []
        # ... which comes, and the record with it.
        rec = wait_record(p, ip)[0]
        assert rec["client_name"] == name
        assert rec["kind"] == "spoofed-relay"
    finally:
        slow.stop()


def test_slow_dns_received_header_waits_at_data(make_pillory, dnsmasq):
    """DATA sent before the look-up ends: the 354 waits for the name, so
    the Received header names the client; later sessions do not wait."""
    slow = SlowDns(dnsmasq.port, 0.6)
    try:
        p = make_pillory(delivery__dns_servers=f"127.0.0.1:{slow.port}")
        ip, name = BOTS[1]
        c = proxied(p, ip)
        t0 = time.monotonic()
        c.send(b"EHLO helo.example\r\nMAIL FROM:<friend@outside.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
        codes = [c.reply()[0] for _ in range(4)]
        waited = time.monotonic() - t0
        assert codes == [250, 250, 250, 354], codes
        assert waited >= 0.5, waited        # it did wait for the name
        c.send(b"Subject: slow dns\r\n\r\nbody\r\n.\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
        c.close()
        msgs = p.messages("alice")
        assert len(msgs) == 1
        assert (f"Received: from helo.example ({name} [{ip}])").encode() \
            in msgs[0], msgs[0][:400]
    finally:
        slow.stop()


def test_silent_dns_data_wait_is_bounded(make_pillory, black_hole):
    """A DNS server that never answers: DATA waits only until the
    resolver gives up, then the message goes on under "unknown"."""
    port = black_hole.getsockname()[1]
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{port}")
    ip = "198.51.100.79"
    c = proxied(p, ip)
    t0 = time.monotonic()
    c.send(b"EHLO helo.example\r\nMAIL FROM:<friend@outside.test>\r\n"
           b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    waited = time.monotonic() - t0
    assert codes == [250, 250, 250, 354], codes
    assert waited < 16, waited
    c.send(b"Subject: silent dns\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    msgs = p.messages("alice")
    assert b"Received: from helo.example (unknown [198.51.100.79])" \
        in msgs[0], msgs[0][:400]


def test_held_records_written_at_shutdown(make_pillory, black_hole):
    """SIGTERM while records wait for a name that will not come: they are
    written under "unknown", none lost, and the daemon exits cleanly."""
    port = black_hole.getsockname()[1]
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{port}")
    for i in range(3):
        c = proxied(p, f"198.51.100.{200 + i}")
        c.send(b"EHLO bot\r\nMAIL FROM:<bbbb@example.test>\r\n"
               b"RCPT TO:<" + VICTIM.encode() + b">\r\nQUIT\r\n")
        codes = [c.reply()[0] for _ in range(4)]
        assert codes == [250, 250, 554, 221], codes
        if i < 2:
            c.close()       # two orphans, one live session
    assert log_json(p) == []        # still waiting for the names
    assert p.stop() == 0
    c.close()
    recs = log_json(p)
    assert sorted(r["client_ip"] for r in recs) == \
        [f"198.51.100.{200 + i}" for i in range(3)], recs
    assert {r["client_name"] for r in recs} == {"unknown"}
    p.assert_clean()
