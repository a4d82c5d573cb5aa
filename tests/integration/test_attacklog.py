"""The attack log end to end (issue 3): refused attempts played through the
PROXY listener from the seed's attacker address, then read back with
`pillory log` and `pillory stats` while the daemon runs. The writer thread
stores records in batches, so every read polls (bounded) until the
expected records are there."""
import json
import re
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Client, proxy_v1

ATTACKER = "211.219.235.140"
VICTIM = "victim@empal.com"
# The seed's 18 senders, in order (aabb appears twice).
SEED_SENDERS = ["bbbb", "good", "abc", "aabb", "aacd", "abcd", "hello",
                "day", "baby", "cccc", "cat", "andy", "aaab", "aaac",
                "aaad", "aabb", "aabc", "abcc"]
SEED_FROM = [f"{s}@gabacho-net.jp" for s in SEED_SENDERS]
# "Mar  8 06:32:50  unknown [211.219.235.140] from=<..> to=<..>"
STAMP = r"[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d"
RFC3339 = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
POLL_SECS = 10


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Daemon and CLI both inherit os.environ: one time zone for both."""
    monkeypatch.setenv("TZ", "UTC")


# ---- helpers ----------------------------------------------------------------

def proxied(p, src, sport=40000):
    """A client on the PROXY listener claiming src; greeting read."""
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(src, sport=sport))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def attempt(p, src, sender, rcpt, helo="spam.example", sport=40000):
    """One connection: EHLO, MAIL, RCPT, QUIT. Returns the RCPT reply."""
    c = proxied(p, src, sport)
    try:
        assert c.cmd(f"EHLO {helo}")[0] == 250
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert c.cmd("QUIT")[0] == 221
        return r
    finally:
        c.close()


def log_json(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def wait_records(p, pred, *args, timeout=POLL_SECS):
    """Poll `pillory log --json ARGS` until pred(records) holds."""
    deadline = time.time() + timeout
    recs = []
    while time.time() < deadline:
        recs = log_json(p, *args)
        if pred(recs):
            return recs
        time.sleep(0.05)
    raise AssertionError(f"records never matched: {recs!r}")


def wait_count(p, n, *args):
    return wait_records(p, lambda r: len(r) >= n, *args)


def ttext(rec):
    """The text line's time stamp for a JSON record (both in UTC here)."""
    t = datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
    return t.astimezone(timezone.utc).strftime("%b %e %H:%M:%S")


def seed_line(stamp, sender, to=VICTIM, name="unknown", ip=ATTACKER):
    return f"{stamp}  {name} [{ip}] from=<{sender}> to=<{to}>"


def play_seed(p):
    """The seed's 18 attempts, one connection each, as the attacker did."""
    for i, sender in enumerate(SEED_FROM):
        code, lines = attempt(p, ATTACKER, sender, VICTIM,
                              helo="gabacho-net.jp", sport=50000 + i)
        assert code == 554, (sender, code, lines)
        assert lines[0].startswith("5.7.1 "), lines


def reconnect(p, timeout=15):
    """After a restart: wait until the PROXY listener greets again."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert p.proc.poll() is None, p.log()[-2000:]
        try:
            c = proxied(p, "192.0.2.1")
            c.cmd("QUIT")
            c.close()
            return
        except (OSError, EOFError, AssertionError):
            time.sleep(0.05)
    raise AssertionError("daemon did not come back: " + p.log()[-2000:])


# ---- the seed's attack ------------------------------------------------------

@pytest.fixture
def seeded(pillory):
    t0 = datetime.now(timezone.utc)
    play_seed(pillory)
    recs = wait_count(pillory, 18)
    pillory.t0 = t0
    pillory.t1 = datetime.now(timezone.utc)
    pillory.recs = recs
    return pillory


def test_seed_attack_log_lines(seeded):
    p = seeded
    assert p.proc.poll() is None          # read while the daemon runs
    r = p.cli("log")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 18, r.stdout
    pat = re.compile(rf"^({STAMP})  unknown \[211\.219\.235\.140\] "
                     r"from=<([^>]*)> to=<([^>]*)>$")
    for line, sender, rec in zip(lines, SEED_FROM, p.recs):
        m = pat.match(line)
        assert m, repr(line)
        assert m.group(2) == sender and m.group(3) == VICTIM, line
        # The exact seed format, two spaces after the stamp included.
        assert line == seed_line(ttext(rec), sender), line
    # Local time (UTC here) of when the attempts happened.
    span = int((p.t1 - p.t0).total_seconds()) + 2
    seen = {(p.t0 + timedelta(seconds=d)).strftime("%b %e %H:%M:%S")
            for d in range(-1, span)}
    assert lines[0][:15] in seen and lines[-1][:15] in seen, (lines, seen)


def test_seed_attack_mask(seeded):
    r = seeded.cli("log", "--mask")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 18
    for line, sender, rec in zip(lines, SEED_FROM, seeded.recs):
        assert line == seed_line(ttext(rec), sender, to="******@empal.com")
    assert "victim" not in r.stdout
    masked = log_json(seeded, "--mask")
    assert [x["to"] for x in masked] == ["******@empal.com"] * 18
    assert [x["from"] for x in masked] == SEED_FROM


def test_seed_attack_json(seeded):
    recs = seeded.recs
    assert len(recs) == 18
    assert [x["from"] for x in recs] == SEED_FROM
    times = []
    for x in recs:
        assert x["kind"] == "spoofed-relay", x
        assert x["client_name"] == "unknown", x
        assert x["client_ip"] == ATTACKER, x
        assert x["helo"] == "gabacho-net.jp", x
        assert x["to"] == VICTIM, x
        assert x["port"] == seeded.proxy_port, x
        assert RFC3339.match(x["time"]), x["time"]
        t = datetime.fromisoformat(x["time"].replace("Z", "+00:00"))
        assert t.utcoffset() == timedelta(0), x["time"]
        assert seeded.t0 - timedelta(seconds=1) <= t <= \
            seeded.t1 + timedelta(seconds=1), x["time"]
        times.append(t)
        assert x.get("reply", "").startswith("554 5.7.1"), x
    assert times == sorted(times)
    # One session per connection.
    assert len({x["session"] for x in recs}) == 18


def test_seed_attack_filters(seeded):
    p = seeded
    assert log_json(p, "--kind", "relay") == []
    r = p.cli("log", "--kind", "relay")
    assert r.returncode == 0 and r.stdout == "", r
    assert len(log_json(p, "--kind", "spoofed-relay")) == 18
    assert log_json(p, "--kind", "protocol") == []

    last5 = log_json(p, "--limit", "5")
    assert [x["from"] for x in last5] == SEED_FROM[-5:]
    r = p.cli("log", "--limit", "5")
    assert r.stdout.splitlines() == \
        [seed_line(ttext(x), x["from"]) for x in last5]
    assert len(log_json(p, "--limit", "100")) == 18

    # --since: everything recent, the tail from a record's own time,
    # nothing from the future.
    assert len(log_json(p, "--since", "1h")) == 18
    assert len(log_json(p, "--since", "2000-01-01")) == 18
    tenth = p.recs[9]["time"]
    tail = log_json(p, "--since", tenth)
    assert [x["from"] for x in tail] == SEED_FROM[9:], (tenth, tail)
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert log_json(p, "--since", future) == []
    # Filters combine.
    assert [x["from"] for x in log_json(p, "--since", tenth, "--limit",
                                        "2")] == SEED_FROM[-2:]

    for bad in (["--kind", "nosuch"], ["--limit", "0"], ["--limit", "x"],
                ["--since", "yesterday"], ["--bogus"]):
        r = p.cli("log", *bad)
        assert r.returncode == 2, (bad, r)


def test_seed_attack_stats(seeded):
    p = seeded
    r = p.cli("stats", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["total"] == 18
    assert s["by_kind"]["spoofed-relay"] == 18
    assert sum(s["by_kind"].values()) == 18
    assert s["top_addresses"][0] == {"address": ATTACKER, "count": 18}
    assert len(s["top_addresses"]) == 1
    assert s["top_networks"][0] == {"network": "211.219.235.0/24",
                                    "count": 18}
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert s["days"][-1]["day"] == today
    assert s["days"][-1]["count"] == 18
    assert s["incidents"]["count"] == 1
    inc = s["incidents"]["recent"]
    assert len(inc) == 1
    inc = inc[0]
    assert inc["count"] == 18
    assert inc["targeted"] is True
    assert inc["client_ip"] == ATTACKER
    assert inc["client_name"] == "unknown"
    assert inc["kinds"] == ["spoofed-relay"]
    assert "bbbb@gabacho-net.jp" in inc["senders"]
    # 17 distinct senders: aabb was used twice.
    assert sorted(inc["senders"]) == sorted(set(SEED_FROM))
    assert inc["first"] <= inc["last"]

    r = p.cli("stats")
    assert r.returncode == 0, r.stderr
    t = r.stdout
    assert re.search(r"^detections: 18$", t, re.M), t
    assert re.search(r"^\s+spoofed-relay\s+18$", t, re.M), t
    assert re.search(r"^\s+relay\s+0$", t, re.M), t
    assert re.search(r"^\s+211\.219\.235\.140\s+18$", t, re.M), t
    assert re.search(r"^\s+211\.219\.235\.0/24\s+18$", t, re.M), t
    assert re.search(r"^incidents: 1\b", t, re.M), t
    assert re.search(r"\[211\.219\.235\.140\] .*18 attempts, targeted", t), t
    assert "bbbb@gabacho-net.jp" in t


def test_seed_attack_one_connection_with_rset(make_pillory):
    """The same attack pipelined through one connection, RSET between."""
    p = make_pillory(smtp__max_errors="100")
    c = proxied(p, ATTACKER)
    assert c.cmd("EHLO gabacho-net.jp")[0] == 250
    for sender in SEED_FROM:
        assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        code, lines = c.cmd(f"RCPT TO:<{VICTIM}>")
        assert code == 554 and lines[0].startswith("5.7.1"), lines
        assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    recs = wait_count(p, 18)
    assert [x["from"] for x in recs] == SEED_FROM
    assert {x["kind"] for x in recs} == {"spoofed-relay"}
    assert len({x["session"] for x in recs}) == 1
    r = p.cli("log")
    assert r.stdout.splitlines() == [seed_line(ttext(x), x["from"])
                                     for x in recs]


# ---- the other kinds, and what is not an attack ---------------------------

def test_kinds_and_non_attacks(make_pillory):
    p = make_pillory(smtp__max_errors="10")
    # relay: outside sender, outside recipient
    code, lines = attempt(p, "198.51.100.1", "spam@elsewhere.test",
                          "victim@empal.com")
    assert code == 554, lines
    # forged-local: our sender to our user from an untrusted source
    code, lines = attempt(p, "198.51.100.2", "carol@gabacho-net.jp",
                          "alice@example.test")
    assert code == 550 and lines[0].startswith("5.7.1"), lines
    # protocol: a bare LF inside a command
    c = proxied(p, "198.51.100.3")
    assert c.cmd("EHLO lf.example")[0] == 250
    c.send(b"NOOP\nRCPT TO:<x@empal.com>\r\n")
    code, lines = c.reply()
    assert code == 500 and lines[0].startswith("5.5.2"), lines
    c.cmd("QUIT")
    c.close()
    # protocol: talking right after the PROXY header, before the greeting
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1("198.51.100.4") + b"EHLO early.example\r\n")
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), lines
    assert c.closed()
    c.close()
    # protocol: an error flood up to max_errors (10 here)
    c = proxied(p, "198.51.100.5")
    for i in range(10):
        assert c.cmd("XYZZY")[0] == 500
    code, lines = c.reply()
    assert code == 421, lines
    assert c.closed()
    c.close()
    # Not attacks: a legitimate message to a user, an unknown local user.
    c = proxied(p, "198.51.100.6")
    assert c.cmd("EHLO friend.example")[0] == 250
    assert c.cmd("MAIL FROM:<friend@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("MAIL FROM:<friend@outside.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<nosuch@example.test>")
    assert code == 550 and lines[0].startswith("5.1.1"), lines
    assert c.cmd("QUIT")[0] == 221
    c.close()
    c = proxied(p, "198.51.100.7")
    assert c.cmd("EHLO friend2.example")[0] == 250
    assert c.cmd("MAIL FROM:<>")[0] == 250
    assert c.cmd("RCPT TO:<postmaster@gabacho-net.jp>")[0] == 250
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    # A sentinel after everything: once it is stored, so is all before it.
    code, _ = attempt(p, "198.51.100.99", "last@elsewhere.test",
                      "x@empal.com")
    assert code == 554
    recs = wait_records(p, lambda r: any(x["client_ip"] == "198.51.100.99"
                                         for x in r))
    by_ip = {}
    for x in recs:
        by_ip.setdefault(x["client_ip"], []).append(x)
    assert set(by_ip) == {"198.51.100.1", "198.51.100.2", "198.51.100.3",
                          "198.51.100.4", "198.51.100.5", "198.51.100.99"}, \
        recs
    assert all(len(v) == 1 for v in by_ip.values()), by_ip
    relay = by_ip["198.51.100.1"][0]
    assert relay["kind"] == "relay"
    assert (relay["from"], relay["to"]) == ("spam@elsewhere.test",
                                            "victim@empal.com")
    forged = by_ip["198.51.100.2"][0]
    assert forged["kind"] == "forged-local"
    assert (forged["from"], forged["to"]) == ("carol@gabacho-net.jp",
                                              "alice@example.test")
    assert forged["reply"].startswith("550 5.7.1"), forged
    lf = by_ip["198.51.100.3"][0]
    assert lf["kind"] == "protocol" and lf["helo"] == "lf.example", lf
    assert lf["reply"].startswith("500 5.5.2"), lf
    early = by_ip["198.51.100.4"][0]
    assert early["kind"] == "protocol" and early["helo"] == "", early
    assert early["reply"].startswith("554 5.5.1"), early
    flood = by_ip["198.51.100.5"][0]
    assert flood["kind"] == "protocol", flood
    assert flood["reply"].startswith("421 "), flood
    for x in recs:
        assert x["port"] == p.proxy_port, x
        assert x["client_name"] == "unknown", x
    # No delivery was recorded as an attack, and it was delivered.
    assert len(p.messages("alice")) == 1

    kinds = {k: [x["client_ip"] for x in log_json(p, "--kind", k)]
             for k in ("relay", "spoofed-relay", "forged-local",
                       "protocol", "auth-fail", "banned")}
    assert kinds == {
        "relay": ["198.51.100.1", "198.51.100.99"],
        "spoofed-relay": [],
        "forged-local": ["198.51.100.2"],
        "protocol": ["198.51.100.3", "198.51.100.4", "198.51.100.5"],
        "auth-fail": [], "banned": []}

    # Text lines: the seed's form for the relay kinds, "KIND field=.." for
    # the others.
    lines = {ln.split("[")[1].split("]")[0]: ln
             for ln in p.cli("log").stdout.splitlines()}
    assert re.match(rf"^{STAMP}  unknown \[198\.51\.100\.1\] "
                    r"from=<spam@elsewhere\.test> to=<victim@empal\.com>$",
                    lines["198.51.100.1"]), lines
    assert re.match(rf"^{STAMP}  unknown \[198\.51\.100\.2\] "
                    r"from=<carol@gabacho-net\.jp> "
                    r"to=<alice@example\.test>$", lines["198.51.100.2"])
    assert re.match(rf"^{STAMP}  unknown \[198\.51\.100\.3\] protocol "
                    r"helo=<lf\.example> reply=\"500 5\.5\.2 [^\"]*\"$",
                    lines["198.51.100.3"]), lines["198.51.100.3"]
    assert re.match(rf"^{STAMP}  unknown \[198\.51\.100\.4\] protocol "
                    r"reply=\"554 5\.5\.1 [^\"]*\"$", lines["198.51.100.4"])

    s = json.loads(p.cli("stats", "--json").stdout)
    assert s["total"] == 6
    assert s["by_kind"]["relay"] == 2
    assert s["by_kind"]["forged-local"] == 1
    assert s["by_kind"]["protocol"] == 3
    assert s["by_kind"]["spoofed-relay"] == 0
    assert s["incidents"]["count"] == 6
    targeted = {i["client_ip"]: i["targeted"]
                for i in s["incidents"]["recent"]}
    assert targeted["198.51.100.2"] is True
    assert targeted["198.51.100.1"] is False


def test_trusted_and_authorized_relay_not_recorded(pillory):
    """Relay from a trusted network is not an attack; only the attempt
    from outside that follows it is recorded."""
    c = Client(pillory.connect())          # 127.0.0.1 is trusted
    assert c.reply()[0] == 220
    assert c.cmd("EHLO trusted.example")[0] == 250
    assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
    assert c.cmd(f"RCPT TO:<{VICTIM}>")[0] == 250
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert attempt(pillory, ATTACKER, "bbbb@gabacho-net.jp", VICTIM)[0] == 554
    # Stored in order: once the attacker's record is there, a record of
    # the trusted relay before it would be too.
    recs = wait_count(pillory, 1)
    assert [x["client_ip"] for x in recs] == [ATTACKER], recs


# ---- durability ---------------------------------------------------------

def test_attack_log_survives_restart(make_pillory):
    p = make_pillory()
    assert attempt(p, ATTACKER, "bbbb@gabacho-net.jp", VICTIM)[0] == 554
    assert attempt(p, ATTACKER, "good@gabacho-net.jp", VICTIM)[0] == 554
    before = wait_count(p, 2)
    assert p.stop() == 0
    # Readable with the daemon down, too.
    assert log_json(p) == before
    p.start()
    reconnect(p)
    assert log_json(p) == before
    assert attempt(p, ATTACKER, "abc@gabacho-net.jp", VICTIM)[0] == 554
    after = wait_count(p, 3)
    assert after[:2] == before
    assert [x["from"] for x in after] == SEED_FROM[:3]
    s = json.loads(p.cli("stats", "--json").stdout)
    assert s["total"] == 3
    # Within 30 minutes from one address: still one incident.
    assert s["incidents"]["count"] == 1
    assert s["incidents"]["recent"][0]["count"] == 3


def test_readers_while_the_daemon_writes(make_pillory):
    """`pillory log` and `stats` read the store (WAL) while the writer
    thread commits batches: never "database is locked", counts only
    grow, and in the end every attempt is there."""
    import threading
    p = make_pillory(smtp__max_errors="5000")
    n = 2000
    done = threading.Event()
    errors = []

    def attacker():
        try:
            c = proxied(p, ATTACKER)
            assert c.cmd("EHLO gabacho-net.jp")[0] == 250
            assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
            for i in range(0, n, 50):
                c.send(b"".join(f"RCPT TO:<v{j}@empal.com>\r\n".encode()
                                for j in range(i, i + 50)))
                for _ in range(50):
                    assert c.reply()[0] == 554
            c.cmd("QUIT")
            c.close()
        except Exception as e:       # reported by the main thread
            errors.append(e)
        finally:
            done.set()

    t = threading.Thread(target=attacker)
    t.start()
    totals, reads = [], 0
    while not done.is_set() or reads < 3:
        r = p.cli("stats", "--json")
        assert r.returncode == 0, r.stderr
        totals.append(json.loads(r.stdout)["total"])
        r = p.cli("log", "--limit", "3")
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.splitlines()) <= 3
        reads += 1
    t.join()
    assert not errors, errors
    assert totals == sorted(totals), totals
    recs = wait_count(p, n)
    assert len(recs) == n
    assert [x["to"] for x in recs] == [f"v{j}@empal.com" for j in range(n)]


def test_records_written_at_shutdown(make_pillory):
    """SIGTERM flushes what is queued: nothing is lost on a clean stop."""
    p = make_pillory()
    for i, sender in enumerate(SEED_FROM):
        assert attempt(p, ATTACKER, sender, VICTIM, sport=41000 + i)[0] == 554
    assert p.stop() == 0
    assert [x["from"] for x in log_json(p)] == SEED_FROM


# ---- attacker-controlled text -------------------------------------------

def test_hostile_text_over_smtp(pillory):
    p = pillory
    c = proxied(p, ATTACKER)
    # A HELO with control characters or quotes is refused, never stored.
    code, _ = c.cmd("EHLO evil\x1b[31m\"x\"")
    assert code == 501
    assert c.cmd("EHLO ok.example")[0] == 250
    sender = '"a\\"b<c>&d e"@gabacho-net.jp'
    code, lines = c.cmd(f"MAIL FROM:<{sender}>")
    assert code == 250, lines
    code, lines = c.cmd(f"RCPT TO:<{VICTIM}>")
    assert code == 554, lines
    c.cmd("QUIT")
    c.close()
    recs = wait_count(p, 1)
    assert len(recs) == 1
    x = recs[0]
    assert x["helo"] == "ok.example"
    assert x["kind"] == "spoofed-relay"
    assert x["from"] == sender, x
    r = p.cli("log", "--json")
    # JSON escapes the HTML specials as \u00XX.
    assert "<c>&d" not in r.stdout, r.stdout
    assert "\\u003cc\\u003e\\u0026d" in r.stdout, r.stdout
    t = p.cli("log").stdout
    assert len(t.splitlines()) == 1
    # Backslash is written \x5c so that a line stays unambiguous.
    assert '\\x5c"b<c>&d e"@gabacho-net.jp' in t, t


def test_hostile_text_in_store_is_escaped(make_pillory):
    """Records reach the store from other places too (a shared log, an
    import): whatever a field holds, `pillory log` prints one safe line
    and valid JSON."""
    p = make_pillory()
    assert attempt(p, ATTACKER, "bbbb@gabacho-net.jp", VICTIM)[0] == 554
    wait_count(p, 1)
    assert p.stop() == 0
    db = p.state / "attacklog.db"
    assert db.exists()
    evil_helo = 'evil\x1b[31m"quoted"\r\nFAKE  unknown [1.2.3.4]\x7f\\'
    evil_from = 'x"y\tz\x00@gabacho-net.jp'.replace("\x00", "")
    con = sqlite3.connect(str(db))
    con.execute(
        "INSERT INTO attacks (time_us, kind, client_ip, client_name, helo,"
        " mail_from, rcpt_to, login_user, session, reply, port) VALUES "
        "(?, 4, ?, ?, ?, ?, ?, '', 'deadbeef', ?, 25)",
        (int(time.time() * 1e6), "203.0.113.9", "bad\nname", evil_helo,
         evil_from, "v\x07@empal.com", 'reply "with" quotes\x1b'))
    con.commit()
    con.close()
    r = p.cli("log")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 3, r.stdout
    line = lines[1]
    for ch in "\x1b\r\x7f\x07\t":
        assert ch not in r.stdout, (ch, line)
    assert "\\x1b" in line and "\\x0d\\x0a" in line and "\\x7f" in line
    assert "\\x5c" in line and "bad\\x0aname" in line
    r = p.cli("log", "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    x = json.loads(lines[1])
    assert x["helo"] == evil_helo
    assert x["from"] == evil_from
    assert x["to"] == "v\x07@empal.com"
    assert x["client_name"] == "bad\nname"
    assert x["kind"] == "protocol"
    assert "\x1b" not in lines[1] and "\r" not in lines[1]
