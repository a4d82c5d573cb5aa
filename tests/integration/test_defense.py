"""Bans and DNS blocklists through the real daemon (README "Defense: bans
and blocklists"). Attackers come through the PROXY listener, so any source
address can be played; refusals are counted as the session records them,
so a ban is in force for the very next connection. DNSBL zones are served
by a private dnsmasq; the exported blocklist is loaded by a real rbldnsd
and asked with dig, and the nft export is checked by nft -c."""
import datetime
import json
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import PASSWORD, Client, proxy_v1
from test_tls_auth import cert, login_ok, tls_session  # noqa: F401

DNSMASQ = "/usr/sbin/dnsmasq"
RBLDNSD = shutil.which("rbldnsd") or "/usr/sbin/rbldnsd"
DIG = shutil.which("dig")
NFT = shutil.which("nft") or "/usr/sbin/nft"
VICTIM = "victim@empal.com"


def session(p, src):
    """A client through the PROXY listener from src; (client, greeting)."""
    c = Client(p.connect(p.proxy_port))
    c.send(proxy_v1(src, dst="2001:db8::25" if ":" in src else "127.0.0.1"))
    return c, c.reply()


def relay_attempt(p, src):
    """One refused relay attempt from src (one attack record)."""
    c, (code, text) = session(p, src)
    assert code == 220, text
    assert c.cmd("EHLO spam.example")[0] == 250
    assert c.cmd("MAIL FROM:<spam@elsewhere.test>")[0] == 250
    code, text = c.cmd(f"RCPT TO:<{VICTIM}>")
    assert code == 554, text
    c.cmd("QUIT")
    c.close()


def greeting(p, src):
    c, (code, text) = session(p, src)
    c.cmd("QUIT") if code == 220 else None
    c.close()
    return code, " ".join(text)


def log_json(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def wait_records(p, kind, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = log_json(p, "--kind", kind)
        if len(recs) >= n:
            return recs
        time.sleep(0.1)
    return log_json(p, "--kind", kind)


def bans(p):
    r = p.cli("bans", "list", "--json")
    assert r.returncode == 0, r.stderr
    return {b["network"]: b for b in json.loads(r.stdout)["bans"]}


def stored_bans(p, n, timeout=5):
    """The bans in the store once there are n of them: the daemon writes
    the bans it makes once a second."""
    deadline = time.time() + timeout
    while True:
        b = bans(p)
        if len(b) >= n or time.time() > deadline:
            return b
        time.sleep(0.1)


def rfc3339(s):
    return datetime.datetime.fromisoformat(s).timestamp()


FAST = {"defense__ban_after": "3", "defense__ban_window": "1m"}


def test_flood_gets_banned(make_pillory):
    p = make_pillory(**FAST)
    for _ in range(3):
        relay_attempt(p, "198.51.100.7")
    # Another address is untouched.
    assert greeting(p, "198.51.100.8")[0] == 220
    c, (code, text) = session(p, "198.51.100.7")
    assert code == 554, text
    assert text[0].startswith("5.7.1 "), text
    assert "198.51.100.7" in text[0], text
    # Only QUIT is answered; everything else is refused.
    assert c.cmd("EHLO spam.example")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.test>")[0] == 503
    assert c.cmd("QUIT")[0] == 221
    assert c.closed()
    c.close()
    recs = wait_records(p, "banned", 1)
    assert len(recs) == 1, recs
    assert recs[0]["client_ip"] == "198.51.100.7"
    assert recs[0]["reply"].startswith("554 5.7.1"), recs[0]
    # One record per session, however many commands it sends.
    assert len(wait_records(p, "relay", 3)) == 3
    b = stored_bans(p, 1)
    assert list(b) == ["198.51.100.7/32"], b
    assert not b["198.51.100.7/32"]["manual"]
    assert "198.51.100.7/32 banned for 3600s" in p.log()


def test_expiry_and_doubling(make_pillory):
    p = make_pillory(defense__ban_after="2", defense__ban_window="1m",
                     defense__ban_time="2s", defense__ban_max="1h")
    for _ in range(2):
        relay_attempt(p, "198.51.100.20")
    assert greeting(p, "198.51.100.20")[0] == 554
    b = stored_bans(p, 1)["198.51.100.20/32"]
    assert rfc3339(b["expires"]) - rfc3339(b["start"]) in (2, 3)
    time.sleep(2.3)
    # Expired exactly: the next connection is greeted.
    assert greeting(p, "198.51.100.20")[0] == 220
    assert bans(p) == {}
    # The second ban of the network lasts twice as long.
    for _ in range(2):
        relay_attempt(p, "198.51.100.20")
    assert greeting(p, "198.51.100.20")[0] == 554
    b = stored_bans(p, 1)["198.51.100.20/32"]
    assert rfc3339(b["expires"]) - rfc3339(b["start"]) in (4, 5)
    assert "198.51.100.20/32 banned for 4s (ban 2" in p.log()
    time.sleep(2.3)
    assert greeting(p, "198.51.100.20")[0] == 554
    time.sleep(2.0)
    assert greeting(p, "198.51.100.20")[0] == 220


def test_v6_bans_the_slash64(make_pillory):
    p = make_pillory(**FAST)
    for _ in range(3):
        relay_attempt(p, "2001:db8:1:2::5")
    assert greeting(p, "2001:db8:1:2::5")[0] == 554
    # Same /64, another address: banned too. Next /64: not.
    assert greeting(p, "2001:db8:1:2:ffff::99")[0] == 554
    assert greeting(p, "2001:db8:1:3::5")[0] == 220
    assert list(stored_bans(p, 1)) == ["2001:db8:1:2::/64"]


def test_v4_prefix_setting(make_pillory):
    p = make_pillory(defense__ban_prefix4="24", **FAST)
    relay_attempt(p, "203.0.113.1")
    relay_attempt(p, "203.0.113.2")
    relay_attempt(p, "203.0.113.3")
    assert greeting(p, "203.0.113.200")[0] == 554
    assert greeting(p, "203.0.114.1")[0] == 220


def bare_lf(p, src, port=None, proxy=True):
    """One protocol record: a command with a bare LF in it."""
    c = Client(p.connect(port or p.proxy_port,
                         source=src if not proxy else "127.0.0.1"))
    if proxy:
        c.send(proxy_v1(src))
    code, text = c.reply()
    if code != 220:
        c.close()
        return code
    c.send(b"NOOP\nX\r\n")
    assert c.reply()[0] == 500
    c.cmd("QUIT")
    c.close()
    return code


def test_allow_and_trusted_never_banned(make_pillory):
    p = make_pillory(defense__allow="198.51.100.0/28", **FAST)
    for _ in range(5):
        relay_attempt(p, "198.51.100.3")
        bare_lf(p, "127.0.0.1")         # trusted_networks
    assert greeting(p, "198.51.100.3")[0] == 220
    assert greeting(p, "127.0.0.1")[0] == 220
    assert bans(p) == {}
    # Outside the allow network the same flood bans.
    for _ in range(3):
        relay_attempt(p, "198.51.100.30")
    assert greeting(p, "198.51.100.30")[0] == 554
    # An operator's ban of an allowed network is not applied either.
    assert p.cli("bans", "add", "198.51.100.0/24").returncode == 0
    assert greeting(p, "198.51.100.3")[0] == 220
    assert greeting(p, "198.51.100.99")[0] == 554


def test_grant_never_banned(make_pillory):
    pop = socket.socket()
    pop.bind(("127.0.0.1", 0))
    pop_port = pop.getsockname()[1]
    pop.close()
    p = make_pillory(pop3__listen=f"127.0.0.1:{pop_port}",
                     pop3__allow_plaintext="yes", **FAST)
    # A POP3 login from 127.0.0.2 grants that address relay.
    s = socket.create_connection(("127.0.0.1", pop_port), timeout=10,
                                 source_address=("127.0.0.2", 0))
    c = Client(s)
    assert c.line().startswith("+OK")
    c.send(b"USER alice@example.test\r\n")
    assert c.line().startswith("+OK")
    c.send(f"PASS {PASSWORD}\r\n".encode())
    assert c.line().startswith("+OK")
    c.send(b"QUIT\r\n")
    c.line()
    c.close()
    for _ in range(4):
        assert bare_lf(p, "127.0.0.2", port=p.port, proxy=False) == 220
    assert bare_lf(p, "127.0.0.2", port=p.port, proxy=False) == 220
    assert "127.0.0.2/32 reached ban_after but is exempt" in p.log()
    # Without a grant, 127.0.0.3 is banned by the same protocol abuse.
    for _ in range(3):
        bare_lf(p, "127.0.0.3", port=p.port, proxy=False)
    assert bare_lf(p, "127.0.0.3", port=p.port, proxy=False) == 554


def test_cli_add_remove_on_running_daemon(make_pillory):
    p = make_pillory()
    assert greeting(p, "203.0.113.9")[0] == 220
    r = p.cli("bans", "add", "203.0.113.0/24", "1h")
    assert r.returncode == 0, r.stderr
    assert "banned 203.0.113.0/24 for 3600s" in r.stdout
    assert r.stderr == ""           # the daemon was told
    assert greeting(p, "203.0.113.9")[0] == 554
    assert greeting(p, "203.0.114.9")[0] == 220
    r = p.cli("bans", "list")
    assert "203.0.113.0/24" in r.stdout and "operator" in r.stdout
    r = p.cli("bans", "remove", "203.0.113.0/24")
    assert r.returncode == 0, r.stderr
    assert greeting(p, "203.0.113.9")[0] == 220
    # Bad input is refused with a reason, nothing changes.
    r = p.cli("bans", "add", "203.0.113.1/24")
    assert r.returncode == 2 and "host bits" in r.stderr
    r = p.cli("bans", "add", "203.0.113.0/24", "soon")
    assert r.returncode == 2 and "duration" in r.stderr
    r = p.cli("bans", "remove", "203.0.113.0/24")
    assert r.returncode == 1 and "no ban" in r.stderr
    r = p.cli("bans", "frobnicate")
    assert r.returncode == 2 and "usage" in r.stderr
    assert bans(p) == {}
    # The once-a-second sweep runs on a daemon that never counted a
    # record, and leaves it serving.
    time.sleep(1.5)
    assert greeting(p, "203.0.113.9")[0] == 220


def test_restart_keeps_bans(make_pillory):
    p = make_pillory(**FAST)
    for _ in range(3):
        relay_attempt(p, "198.51.100.50")
    assert p.cli("bans", "add", "2001:db8:9::/48").returncode == 0
    assert p.stop() == 0
    p.start()
    assert greeting(p, "198.51.100.50")[0] == 554
    assert greeting(p, "2001:db8:9:1::1")[0] == 554
    assert greeting(p, "198.51.100.51")[0] == 220
    assert "bans: 2 networks loaded" in p.log()


def test_cli_without_daemon_says_so(make_pillory):
    p = make_pillory(start=False)
    p.write_config()
    p.state.mkdir()
    r = p.cli("bans", "add", "192.0.2.0/24")
    assert r.returncode == 0, r.stderr
    assert "the daemon was not told" in r.stderr
    p.start()
    assert greeting(p, "192.0.2.1")[0] == 554


# ---- DNSBL ---------------------------------------------------------------

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


def dns_a(port, name, timeout=1.0):
    """(rcode, answer count) for an A query to 127.0.0.1:port."""
    q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(4096)
    _, flags, _, an, _, _ = struct.unpack("!HHHHHH", r[:12])
    return flags & 0xF, an


@pytest.fixture
def dnsbl(tmp_path):
    """dnsmasq serving two test DNSBL zones: bl.test lists 198.51.100.66
    and the v6 address 2001:db8:66::1 and the RFC 5782 test entry
    127.0.0.2; other.test lists nobody."""
    port = free_udp_tcp_port()
    v6 = ".".join(reversed("20010db8006600000000000000000001"))
    proc = subprocess.Popen(
        [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
         f"--port={port}", "--listen-address=127.0.0.1",
         "--bind-interfaces", "--conf-file=/dev/null", "--user=root",
         "--local-ttl=300",
         "--host-record=66.100.51.198.bl.test,127.0.0.2",
         "--host-record=2.0.0.127.bl.test,127.0.0.2",
         f"--host-record={v6}.bl.test,127.0.0.4",
         "--local=/bl.test/", "--local=/other.test/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while True:
        try:
            if dns_a(port, "2.0.0.127.bl.test", 0.2) == (0, 1):
                break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("dnsmasq did not answer")
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=5)
    proc.stderr.close()


def rcpt(p, src, to):
    c, (code, text) = session(p, src)
    assert code == 220, text
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<someone@elsewhere.test>")[0] == 250
    r = c.cmd(f"RCPT TO:<{to}>")
    c.cmd("QUIT")
    c.close()
    return r[0], " ".join(r[1])


def test_dnsbl_listed_client_refused_at_rcpt(make_pillory, dnsbl):
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{dnsbl}",
                     defense__dnsbl="other.test, bl.test")
    # Local mail and relay alike, naming the zone.
    code, text = rcpt(p, "198.51.100.66", "alice@example.test")
    assert code == 554, text
    assert text == ("5.7.1 Service unavailable; client [198.51.100.66] "
                    "blocked using bl.test"), text
    code, text = rcpt(p, "198.51.100.66", VICTIM)
    assert code == 554 and "blocked using bl.test" in text, text
    code, text = rcpt(p, "2001:db8:66::1", "alice@example.test")
    assert code == 554 and "blocked using bl.test" in text, text
    # Not listed: delivered as usual.
    assert rcpt(p, "198.51.100.67", "alice@example.test")[0] == 250
    recs = wait_records(p, "blocklisted", 3)
    assert [r["client_ip"] for r in recs] == [
        "198.51.100.66", "198.51.100.66", "2001:db8:66::1"], recs
    assert recs[0]["to"] == "alice@example.test"
    assert recs[1]["to"] == VICTIM
    assert recs[0]["from"] == "someone@elsewhere.test"
    # Trusted clients are never refused.
    assert rcpt(p, "127.0.0.1", "alice@example.test")[0] == 250


def test_dnsbl_pipelined_rcpt_waits_for_answer(make_pillory, dnsbl):
    p = make_pillory(delivery__dns_servers=f"127.0.0.1:{dnsbl}",
                     defense__dnsbl="bl.test")
    # The whole transaction in one write right after the greeting: the
    # RCPT waits for the answer instead of slipping through.
    c = Client(p.connect(p.proxy_port))
    c.send(proxy_v1("198.51.100.66"))
    assert c.reply()[0] == 220
    c.send(b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>"
           b"\r\nQUIT\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    code, text = c.reply()
    assert code == 554 and "bl.test" in text[0], text
    assert c.reply()[0] == 221
    c.close()


def test_dnsbl_failure_never_refuses(make_pillory):
    # Port 9 never answers: the lookups time out; mail goes through.
    p = make_pillory(defense__dnsbl="bl.test")
    t0 = time.time()
    assert rcpt(p, "198.51.100.66", "alice@example.test")[0] == 250
    assert time.time() - t0 < 10
    assert log_json(p, "--kind", "blocklisted") == []


# ---- sharing: exports, the published blocklist, rbldnsd, nft ---------------

def test_publish_blocklist_and_rbldnsd(make_pillory, tmp_path):
    if DIG is None:
        pytest.skip("dig (dnsutils) is not installed")
    p = make_pillory(publish__blocklist="yes", **FAST)
    pub = p.state / "public"
    for _ in range(3):
        relay_attempt(p, "198.51.100.77")
    assert p.cli("bans", "add", "192.0.2.0/24").returncode == 0
    assert p.cli("bans", "add", "2001:db8:77::/48").returncode == 0
    deadline = time.time() + 10
    want = "192.0.2.0/24\n198.51.100.77/32\n2001:db8:77::/48\n"
    while time.time() < deadline:
        txt = (pub / "blocklist.txt").read_text() \
            if (pub / "blocklist.txt").exists() else ""
        if txt == want:
            break
        time.sleep(0.1)
    assert txt == want
    js = json.loads((pub / "blocklist.json").read_text())
    assert js["count"] == 3
    assert {b["network"] for b in js["bans"]} == set(want.split())
    assert not list(pub.glob(".*tmp"))
    # The CLI export says the same (once the daemon has stored its ban).
    assert len(stored_bans(p, 3)) == 3
    r = p.cli("bans", "export", "--format", "plain")
    assert r.returncode == 0 and r.stdout == want, r
    out = tmp_path / "bl.rbldnsd"
    r = p.cli("bans", "export", "--format", "rbldnsd", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == (pub / "blocklist.rbldnsd").read_text()

    # A real rbldnsd loads the published file as is and answers.
    port = free_udp_tcp_port()
    rb = subprocess.Popen(
        [RBLDNSD, "-n", "-f", "-b", f"127.0.0.1/{port}", "-r", str(pub),
         "bl.test:combined:blocklist.rbldnsd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def dig(name):
            for _ in range(50):
                r = subprocess.run(
                    [DIG, "+short", "+time=1", "+tries=1", "@127.0.0.1",
                     "-p", str(port), name, "A"],
                    capture_output=True, text=True)
                if "timed out" not in r.stdout and r.returncode == 0:
                    return r.stdout.strip()
                time.sleep(0.1)
            return "no answer"
        assert dig("77.100.51.198.bl.test") == "127.0.0.2"
        assert dig("5.2.0.192.bl.test") == "127.0.0.2"
        assert dig("78.100.51.198.bl.test") == ""
        v6 = ".".join(reversed("20010db8007700050000000000000001"))
        assert dig(v6 + ".bl.test") == "127.0.0.2"
        v6 = ".".join(reversed("20010db8007800050000000000000001"))
        assert dig(v6 + ".bl.test") == ""
    finally:
        rb.terminate()
        out_text = rb.communicate(timeout=5)[0].decode(errors="replace")
    assert "ip4set" in out_text and "ip6trie" in out_text, out_text
    # A removal rewrites the files.
    assert p.cli("bans", "remove", "192.0.2.0/24").returncode == 0
    assert "192.0.2.0/24" not in (pub / "blocklist.txt").read_text()


def test_nft_export_passes_nft_check(make_pillory, tmp_path):
    p = make_pillory(start=False)
    p.write_config()
    p.state.mkdir()
    for net in ("192.0.2.0/24", "192.0.2.7/32", "198.51.100.1",
                "2001:db8::/64", "2001:db8:1::5"):
        assert p.cli("bans", "add", net).returncode == 0
    out = tmp_path / "pillory.nft"
    r = p.cli("bans", "export", "--format", "nft", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "table inet pillory" in text and "192.0.2.0/24" in text
    # Overlaps are refused by interval sets: the /32 inside the /24 goes.
    assert "192.0.2.7/32" not in text
    r = subprocess.run([NFT, "-c", "-f", str(out)], capture_output=True,
                       text=True)
    if r.returncode != 0 and ("Operation not permitted" in r.stderr or
                              "netlink" in r.stderr.lower()):
        pytest.skip("the kernel refuses netlink here: " + r.stderr)
    assert r.returncode == 0, r.stderr
    # An empty list still makes a valid file.
    for net in ("192.0.2.0/24", "192.0.2.7/32", "198.51.100.1/32",
                "2001:db8::/64", "2001:db8:1::5/128"):
        assert p.cli("bans", "remove", net).returncode == 0
    r = p.cli("bans", "export", "--format", "nft", "-o", str(out))
    assert r.returncode == 0
    r = subprocess.run([NFT, "-c", "-f", str(out)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr + out.read_text()


def test_page_shows_bans_in_both_languages(make_pillory):
    p = make_pillory(publish__delay="0s", **FAST)
    pub = p.state / "public"
    for _ in range(3):
        relay_attempt(p, "198.51.100.90")
    # A banned connection writes a record, which regenerates the page.
    assert greeting(p, "198.51.100.90")[0] == 554
    deadline = time.time() + 15
    en = ja = ""
    while time.time() < deadline:
        en = (pub / "index.en.html").read_text() \
            if (pub / "index.en.html").exists() else ""
        ja = (pub / "index.ja.html").read_text() \
            if (pub / "index.ja.html").exists() else ""
        if "198.51.100.90/32" in en and "198.51.100.90/32" in ja:
            break
        time.sleep(0.1)
    assert "1 networks are banned now." in en, en
    assert 'id="ban-list"' in en and "198.51.100.90/32" in en
    assert "Banned until" in en
    assert "現在 1 件のネットワークを遮断しています。" in ja, ja
    assert "198.51.100.90/32" in ja and "遮断終了" in ja
    # Removed: the next generation says none.
    assert p.cli("bans", "remove", "198.51.100.90/32").returncode == 0
    assert p.cli("publish").returncode == 0
    en = (pub / "index.en.html").read_text()
    assert "No network is banned now." in en
    assert "198.51.100.90/32" not in en.split('id="bans"')[1]


def test_authenticated_user_never_banned(make_pillory, cert):
    """A login from an address keeps it from being banned (for 24 h)."""
    p = make_pillory(tls__cert=str(cert[0]), tls__key=str(cert[1]), **FAST)
    c = tls_session(p, port=p.port, source="127.0.0.4")
    login_ok(c)
    c.cmd("QUIT")
    c.close()
    for _ in range(4):
        assert bare_lf(p, "127.0.0.4", port=p.port, proxy=False) == 220
    assert "127.0.0.4/32 reached ban_after but is exempt" in p.log()
    # Its neighbour, who never logged in, is banned.
    for _ in range(3):
        bare_lf(p, "127.0.0.5", port=p.port, proxy=False)
    assert bare_lf(p, "127.0.0.5", port=p.port, proxy=False) == 554
