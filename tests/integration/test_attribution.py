"""Attribution and abuse reports (issue 16): the seed's attack replayed
through the PROXY listener from 211.219.235.140, whose name a private
dnsmasq confirms as pc1.kornet.net, against a small ip2asn TSV holding the
real 211.219.224.0/19 -> AS4766 KR row. `pillory log --json`, `stats`,
both pages and attacks.json must name AS4766 / KR / kornet.net; an
unlisted or unrouted address must name nothing; `pillory report` must be
an RFC 5965 report that Python's email package parses, printed or queued
and delivered to a local receiver."""
import email
import email.policy
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, Client, free_port, proxy_v1
from mtasim import Dnsmasq, Receiver

HERE = Path(__file__).parent
TSV = HERE / "ip2asn-test.tsv"
ATTACKER = "211.219.235.140"          # pc1.kornet.net, AS4766 KR
JPHOST = "192.0.2.50"                 # mail.example.co.jp, AS64500 JP
UNLISTED = "203.0.113.77"             # in no range of the TSV
UNROUTED = "198.51.100.7"             # AS 0 "Not routed"
V6 = "2001:db8::25"                   # AS64501 DE
VICTIM = "victim@empal.com"
SEED_SENDERS = ["bbbb", "good", "abc", "aabb", "aacd", "abcd", "hello",
                "day", "baby", "cccc", "cat", "andy", "aaab", "aaac",
                "aaad", "aabb", "aabc", "abcc"]
STAMP = r"[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d"


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("PILLORY_DEBUG", "1")


@pytest.fixture
def dns(tmp_path):
    d = Dnsmasq(tmp_path, hosts=[("pc1.kornet.net", ATTACKER),
                                 ("mail.example.co.jp", JPHOST)])
    yield d
    d.stop()


@pytest.fixture
def pa(make_pillory, dns):
    """A daemon with the TSV, resolving through the private dnsmasq."""
    return make_pillory(attacklog__asn_db=str(TSV),
                        delivery__dns_servers=f"127.0.0.1:{dns.port}")


# ---- helpers ------------------------------------------------------------------

def wait_name(p, ip, timeout=10):
    """Wait until the newest session from ip has its client name."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = p.log()
        sids = re.findall(rf"(\w+) connect ip={re.escape(ip)} ", text)
        if sids and re.search(rf"{sids[-1]} client name (\S+)", text):
            return
        time.sleep(0.02)
    raise AssertionError(f"no client name for {ip}: " + p.log()[-2000:])


def attempt(p, ip, sender, rcpt=VICTIM, sport=40000):
    c = Client(p.connect(port=p.proxy_port))
    try:
        c.send(proxy_v1(ip, dst="::1" if ":" in ip else "127.0.0.1",
                        sport=sport))
        assert c.reply()[0] == 220
        wait_name(p, ip)
        assert c.cmd("EHLO gabacho-net.jp")[0] == 250
        assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
        assert code == 554, lines
        assert c.cmd("QUIT")[0] == 221
    finally:
        c.close()


def log_json(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def wait_records(p, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = log_json(p)
        if len(recs) >= n:
            return recs
        time.sleep(0.05)
    raise AssertionError(f"{len(log_json(p))} of {n} records")


def play_seed(p):
    for i, s in enumerate(SEED_SENDERS):
        attempt(p, ATTACKER, f"{s}@gabacho-net.jp", sport=50000 + i)
    return wait_records(p, 18)


def incident_of(p, ip):
    s = json.loads(p.cli("stats", "--json").stdout)
    return next(i for i in s["incidents"]["recent"] if i["client_ip"] == ip)


def read(p, name):
    return (p.state / "public" / name).read_text(encoding="utf-8")


def pre_lines(html):
    m = re.search(r'<pre id="log">(.*?)</pre>', html, re.S)
    assert m, "no log lines"
    return [x for x in re.sub(r"<[^>]*>", "", m.group(1)).split("\n") if x]


def parse_report(text):
    msg = email.message_from_string(text, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "feedback-report"
    parts = msg.get_payload()
    assert [x.get_content_type() for x in parts] == [
        "text/plain", "message/feedback-report", "text/rfc822-headers"]
    fb = parts[1].get_payload()[0]       # the report's fields
    return msg, parts, fb


# ---- the TSV is configuration: FILE:LINE errors -------------------------------

def test_check_names_the_bad_line(make_pillory, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text(TSV.read_text() +
                   "211.220.0.0\t211.220.0.255\tAS4766\tKR\tX\n")
    p = make_pillory(start=False, attacklog__asn_db=str(bad))
    p.write_config()
    r = p.cli("check")
    assert r.returncode == 1
    assert f"{bad}:8: AS_number" in r.stderr, r.stderr
    # The daemon refuses to start with it, naming the line too.
    r = subprocess.run([BIN, "-c", str(p.conf), "serve"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"{bad}:8:" in r.stderr, r.stderr
    # The good file passes, and says how many ranges it holds.
    p.sections["attacklog"]["asn_db"] = str(TSV)
    p.write_config()
    r = p.cli("check")
    assert r.returncode == 0, r.stderr
    assert "7 ranges" in r.stderr


# ---- the seed's attack, named --------------------------------------------------

def test_seed_replay_names_kornet_everywhere(pa):
    recs = play_seed(pa)
    for rec in recs:
        assert rec["client_name"] == "pc1.kornet.net"
        assert rec["asn"] == 4766
        assert rec["as_name"] == "KIXS-AS-KR Korea Telecom"
        assert rec["country"] == "KR"
        assert rec["org_domain"] == "kornet.net"
    # The text line keeps the 2002 format and appends the network.
    lines = pa.cli("log").stdout.splitlines()
    assert len(lines) == 18
    assert re.match(rf"^{STAMP}  pc1\.kornet\.net \[211\.219\.235\.140\] "
                    r"from=<bbbb@gabacho-net\.jp> to=<victim@empal\.com>"
                    r"  \(kornet\.net, AS4766 KIXS-AS-KR Korea Telecom, "
                    r"KR\)$", lines[0]), lines[0]

    s = json.loads(pa.cli("stats", "--json").stdout)
    assert s["top_as"][0] == {"asn": 4766,
                              "as_name": "KIXS-AS-KR Korea Telecom",
                              "count": 18}
    assert s["top_countries"][0] == {"country": "KR", "count": 18}
    inc = s["incidents"]["recent"][0]
    assert (inc["asn"], inc["country"], inc["org_domain"]) == \
        (4766, "KR", "kornet.net")
    text = pa.cli("stats").stdout
    assert re.search(r"top networks by AS:\n  AS4766 +18  KIXS-AS-KR", text)
    assert re.search(r"top countries:\n  KR +18  South Korea", text)
    assert "network: kornet.net, AS4766" in text

    r = pa.cli("publish")
    assert r.returncode == 0, r.stderr
    ja, en = read(pa, "index.ja.html"), read(pa, "index.en.html")
    for page in (ja, en):
        assert "kornet.net" in page and "AS4766" in page
    assert "韓国" in ja and "South Korea" in en
    # Recent lines: running number, the 2002 line, the kind in words.
    jl, el = pre_lines(ja), pre_lines(en)
    assert len(el) == 18
    assert re.match(rf"^ 1 {STAMP}  pc1\.kornet\.net \[211\.219\.235\.140\] "
                    r"from=&lt;bbbb@gabacho-net\.jp&gt; "
                    r"to=&lt;\*\*\*\*\*\*@empal\.com&gt;  "
                    r"\[Relay with our domain forged\] "
                    r"\(kornet\.net, AS4766, South Korea\)$", el[0]), el[0]
    assert el[17].startswith("18 ")
    assert "[ドメイン詐称中継]" in jl[0] and "韓国" in jl[0]
    # The incident's own pages: the full network, AS numbers as text.
    for lang, country in (("ja", "韓国"), ("en", "South Korea")):
        page = read(pa, f"incidents/{inc['id']}.{lang}.html")
        m = re.search(r'<dd id="network">(.*?)</dd>', page)
        assert m, page
        assert "kornet.net" in m.group(1) and country in m.group(1)
        assert "AS4766 KIXS-AS-KR Korea Telecom" in m.group(1)
        assert "<a" not in m.group(1)
        assert len(pre_lines(page)) == 18
    # The feed's entry names the network too.
    feed = read(pa, "feed.ja.atom")
    assert "kornet.net、AS4766 KIXS-AS-KR Korea Telecom、韓国" in feed
    data = json.loads(read(pa, "attacks.json"))
    assert data["recent"][0]["asn"] == 4766
    assert data["recent"][0]["country"] == "KR"
    assert data["incidents"][0]["org_domain"] == "kornet.net"


def test_unlisted_and_unrouted_show_nothing(pa):
    attempt(pa, UNLISTED, "spam@evil.example", "a@remote.example")
    attempt(pa, UNROUTED, "spam@evil.example", "b@remote.example")
    recs = wait_records(pa, 2)
    for rec in recs:
        assert rec["client_name"] == "unknown"
        for key in ("asn", "as_name", "country", "org_domain"):
            assert key not in rec, rec
    for line in pa.cli("log").stdout.splitlines():
        assert line.endswith("@remote.example>"), line
    s = json.loads(pa.cli("stats", "--json").stdout)
    assert s["top_as"] == [] and s["top_countries"] == []
    assert pa.cli("publish").returncode == 0
    en = read(pa, "index.en.html")
    assert "AS" not in "".join(pre_lines(en)).replace("[Relay]", "")


def test_co_jp_name_and_ipv6(pa):
    attempt(pa, JPHOST, "spam@evil.example")
    attempt(pa, V6, "spam@evil.example")
    recs = {r["client_ip"]: r for r in wait_records(pa, 2)}
    jp = recs[JPHOST]
    assert jp["client_name"] == "mail.example.co.jp"
    assert (jp["org_domain"], jp["asn"], jp["country"]) == \
        ("example.co.jp", 64500, "JP")
    v6 = recs[V6]
    assert (v6["asn"], v6["country"]) == (64501, "DE")
    assert "org_domain" not in v6
    assert pa.cli("publish").returncode == 0
    ja = read(pa, "index.ja.html")
    assert "example.co.jp" in ja and "日本" in ja and "ドイツ" in ja


# ---- pillory report ------------------------------------------------------------

def test_report_is_rfc5965(pa):
    play_seed(pa)
    inc = incident_of(pa, ATTACKER)
    r = pa.cli("report", str(inc["id"]))
    assert r.returncode == 0, r.stderr
    msg, parts, fb = parse_report(r.stdout)
    assert msg["To"].addresses[0].addr_spec == "abuse@kornet.net"
    assert msg["From"].addresses[0].addr_spec == "postmaster@example.test"
    assert "211.219.235.140" in msg["Subject"]
    assert fb["Feedback-Type"] == "abuse"
    assert fb["User-Agent"].startswith("pillory/")
    assert fb["Version"] == "1"
    assert fb["Source-IP"] == ATTACKER
    assert fb["Reported-Domain"] == "kornet.net"
    assert fb["Original-Mail-From"] == "<bbbb@gabacho-net.jp>"
    assert fb.get_all("Original-Rcpt-To") == ["<victim@empal.com>"]
    assert fb["Incidents"] == "18"
    assert re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$",
                    fb["Arrival-Date"]), fb["Arrival-Date"]
    human = parts[0].get_content()
    lines = [x for x in human.splitlines()
             if re.match(rf"^{STAMP}  pc1\.kornet\.net "
                         r"\[211\.219\.235\.140\] from=<\w+@gabacho-net\.jp>"
                         r" to=<\*\*\*\*\*\*@empal\.com>$", x)]
    assert len(lines) == 18, human
    assert "AS4766 KIXS-AS-KR Korea Telecom" in human
    env = parts[2].get_payload()[0] if parts[2].is_multipart() \
        else email.message_from_string(parts[2].get_payload())
    assert "[211.219.235.140]" in str(env["Received"])
    assert env["Return-Path"] == "<bbbb@gabacho-net.jp>"
    # --to overrides; a bad one and a missing incident are refused.
    r = pa.cli("report", f"#{inc['id']}", "--to", "abuse@kt.example")
    assert r.returncode == 0 and "To: <abuse@kt.example>" in r.stdout
    r = pa.cli("report", str(inc["id"]), "--to", "no address")
    assert r.returncode == 2
    r = pa.cli("report", "999999")
    assert r.returncode == 1 and "no incident 999999" in r.stderr
    r = pa.cli("report", "x1")
    assert r.returncode == 2


def test_report_without_domain_needs_to(pa):
    attempt(pa, UNLISTED, "spam@evil.example")
    wait_records(pa, 1)
    inc = incident_of(pa, UNLISTED)
    r = pa.cli("report", str(inc["id"]))
    assert r.returncode == 1 and "--to" in r.stderr, r.stderr
    r = pa.cli("report", str(inc["id"]), "--to", "abuse@isp.example")
    assert r.returncode == 0, r.stderr
    _, _, fb = parse_report(r.stdout)
    assert fb["Source-IP"] == UNLISTED and fb["Reported-Domain"] is None


def test_report_send_goes_through_the_queue(make_pillory, dns):
    port = free_port("127.0.0.1")
    rx = Receiver("127.0.0.1", port)
    try:
        p = make_pillory(attacklog__asn_db=str(TSV),
                         delivery__dns_servers=f"127.0.0.1:{dns.port}",
                         delivery__relayhost=f"[127.0.0.1]:{port}")
        for i, s in enumerate(SEED_SENDERS[:3]):
            attempt(p, ATTACKER, f"{s}@gabacho-net.jp", sport=51000 + i)
        wait_records(p, 3)
        inc = incident_of(p, ATTACKER)
        r = p.cli("report", str(inc["id"]), "--send")
        assert r.returncode == 0, r.stderr
        assert re.match(r"^queued \w+: abuse report on incident \d+ to "
                        r"<abuse@kornet\.net>$", r.stdout.strip()), r.stdout
        txn = rx.wait(1)[0]
        assert "postmaster@example.test" in txn["mail"]
        assert any("abuse@kornet.net" in x for x in txn["rcpts"])
        _, _, fb = parse_report(txn["data"].replace("\r\n", "\n"))
        assert fb["Source-IP"] == ATTACKER and fb["Incidents"] == "3"
    finally:
        rx.stop()


def test_report_send_without_daemon_waits_for_start(make_pillory, dns):
    port = free_port("127.0.0.1")
    rx = Receiver("127.0.0.1", port)
    try:
        p = make_pillory(attacklog__asn_db=str(TSV),
                         delivery__dns_servers=f"127.0.0.1:{dns.port}",
                         delivery__relayhost=f"[127.0.0.1]:{port}")
        attempt(p, ATTACKER, "bbbb@gabacho-net.jp")
        wait_records(p, 1)
        inc = incident_of(p, ATTACKER)
        p.stop()
        r = p.cli("report", str(inc["id"]), "--send",
                  "--to", "abuse@kt.example")
        assert r.returncode == 0, r.stderr
        assert "not running" in r.stdout
        assert rx.txns == []
        p.start()
        txn = rx.wait(1)[0]
        assert any("abuse@kt.example" in x for x in txn["rcpts"])
    finally:
        rx.stop()


# ---- the daemon's own publisher: start-up and SIGHUP ---------------------------

def wait_page(p, pred, name="index.en.html", timeout=20):
    deadline = time.time() + timeout
    page = ""
    while time.time() < deadline:
        try:
            page = read(p, name)
        except FileNotFoundError:
            page = ""
        if pred(page):
            return page
        time.sleep(0.1)
    raise AssertionError(f"page never matched: {page[-2000:]}")


def test_daemon_pages_follow_the_tsv_across_sighup(make_pillory, dns,
                                                   tmp_path):
    tsv = tmp_path / "ip2asn.tsv"
    tsv.write_text(TSV.read_text())
    p = make_pillory(attacklog__asn_db=str(tsv), publish__delay="0s",
                     delivery__dns_servers=f"127.0.0.1:{dns.port}")
    attempt(p, ATTACKER, "bbbb@gabacho-net.jp")
    wait_records(p, 1)
    page = wait_page(p, lambda t: "AS4766" in t)
    assert "South Korea" in page
    # A new file: the range now belongs to another AS, in Japan.
    tsv.write_text(TSV.read_text().replace(
        "211.219.224.0\t211.219.255.255\t4766\tKR\tKIXS-AS-KR Korea "
        "Telecom", "211.219.224.0\t211.219.255.255\t64999\tJP\tMOVED-AS"))
    p.proc.send_signal(signal.SIGHUP)
    page = wait_page(p, lambda t: "AS64999" in t)
    assert "AS4766" not in page and "Japan" in page
    # A broken file on SIGHUP: the old table stays, the daemon says why.
    tsv.write_text("211.219.224.0\t211.219.255.255\tbroken\n")
    p.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while f"{tsv}:1:" not in p.log() and time.time() < deadline:
        time.sleep(0.05)
    assert f"{tsv}:1:" in p.log(), p.log()[-2000:]
    attempt(p, ATTACKER, "good@gabacho-net.jp", sport=40001)
    wait_records(p, 2)
    # The CLI still prints the records, without AS, and says why.
    r = p.cli("log")
    assert r.returncode == 0 and f"warning: {tsv}:1:" in r.stderr
    assert r.stdout.splitlines()[-1].endswith("to=<victim@empal.com>")
    page = wait_page(p, lambda t: len(pre_lines(t)) == 2
                     if '<pre id="log">' in t else False)
    assert "AS64999" in page
    assert p.proc.poll() is None


def test_pages_are_tidy_with_attribution(pa):
    tidy = "/usr/bin/tidy"
    if not Path(tidy).exists():
        pytest.skip("tidy is needed")
    attempt(pa, ATTACKER, "bbbb@gabacho-net.jp")
    attempt(pa, JPHOST, "spam@evil.example")
    wait_records(pa, 2)
    assert pa.cli("publish").returncode == 0
    for f in sorted((pa.state / "public").rglob("*.html")):
        r = subprocess.run([tidy, "-errors", "-q", str(f)],
                           capture_output=True, text=True)
        assert r.returncode == 0, (f, r.stderr)
