"""Postfix companion, `pillory import`: the maillog_file a real private
Postfix wrote while refusing the 2002 attack, imported into an empty store,
gives the same records as the policy service did; importing twice adds
nothing; journalctl JSON, classic and RFC 3339 syslog; --follow across
rotation and truncation, and on a pipe."""
import json
import os
import shutil
import subprocess
import time
from datetime import datetime, timezone

import pytest

from conftest import BIN, SAN_ENV
from postfix_instance import Postfix, available, private_dir
from test_policy import (ATTACKER, SENDERS, policy_pillory, replay_attack,
                         wait_records)


def cli_pillory(make_pillory):
    p = make_pillory(start=False, **{"smtp__listen": "",
                                     "smtp__proxy_protocol": ""})
    p.write_config()
    return p


def records(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def now_rfc3339(delta=0):
    return datetime.fromtimestamp(time.time() + delta, timezone.utc) \
        .astimezone().isoformat(timespec="microseconds")


REJECT = ("NOQUEUE: reject: RCPT from {name}[{ip}]: 554 5.7.1 <{to}>: "
          "Relay access denied; from=<{frm}> to=<{to}> proto=ESMTP "
          "helo=<{helo}>")


@pytest.mark.skipif(not available(), reason="needs postfix and root")
def test_postfix_maillog_gives_the_same_records(make_pillory):
    p = policy_pillory(make_pillory)
    pf = Postfix(private_dir(), policy=f"inet:127.0.0.1:{p.policy_port}")
    try:
        pf.start()
        assert replay_attack(pf) == [554] * 18
        pf.wait_log("Relay access denied", count=18)
    finally:
        pf.stop()
    maillog = p.dir / "maillog"
    shutil.copy(pf.log_path(), maillog)
    shutil.rmtree(pf.dir, ignore_errors=True)
    wait_records(p, 18)
    live = records(p)

    q = cli_pillory(make_pillory)
    r = q.cli("import", "--format", "postfix", str(maillog))
    assert r.returncode == 0, r.stderr
    assert "imported 18 records" in r.stdout
    imported = records(q)
    assert len(imported) == 18 == len(live)
    for a, b in zip(live, imported):
        for k in ("kind", "client_ip", "client_name", "helo", "from", "to"):
            assert a[k] == b[k], (k, a, b)
        ta = datetime.fromisoformat(a["time"]).timestamp()
        tb = datetime.fromisoformat(b["time"]).timestamp()
        assert abs(ta - tb) < 2.5, (a["time"], b["time"])
    assert [x["from"].split("@")[0] for x in imported] == SENDERS
    assert all(x["client_ip"] == ATTACKER and x["kind"] == "spoofed-relay"
               for x in imported)
    # Same lines again: nothing new.
    r = q.cli("import", str(maillog))
    assert r.returncode == 0, r.stderr
    assert "imported 0 records" in r.stdout
    assert len(records(q)) == 18


def test_syslog_shapes_and_dedupe(make_pillory):
    p = cli_pillory(make_pillory)
    log = p.dir / "mail.log"
    log.write_text(
        "Mar  8 06:32:50 mx postfix/smtpd[123]: " + REJECT.format(
            name="unknown", ip="211.219.235.140", to="aaaa@empal.com",
            frm="bbbb@gabacho-net.jp", helo="x") + "\n"
        "2026-03-08T06:32:55.250000+09:00 mx postfix/smtpd[123]: " +
        REJECT.format(name="dsl.kornet.example", ip="192.0.2.7",
                      to="c@empal.com", frm="x@other.example",
                      helo="[1.2.3.4]") + "\n"
        "Mar  8 06:33:00 mx postfix/smtpd[124]: warning: unknown"
        "[192.0.2.8]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, "
        "sasl_username=bob\n"
        "Mar  8 06:33:01 mx postfix/postscreen[125]: PREGREET 11 after "
        "0.1 from [192.0.2.9]:5555: EHLO x\\r\\n\n"
        "Mar  8 06:33:02 mx postfix/postscreen[125]: BARE NEWLINE from "
        "[192.0.2.10]:5556 after DATA\n"
        "Mar  8 06:33:03 mx postfix/postscreen[125]: COMMAND PIPELINING "
        "from [192.0.2.11]:5557 after EHLO: MAIL FROM:<a@b>\\r\\n\n"
        "Mar  8 06:33:04 mx postfix/smtpd[126]: connect from "
        "unknown[192.0.2.12]\n"
        "not a log line at all\n")
    r = p.cli("import", str(log))
    assert r.returncode == 0, r.stderr
    assert "imported 6 records" in r.stdout
    assert "1 not log lines" in r.stdout
    recs = records(p)
    kinds = sorted(x["kind"] for x in recs)
    assert kinds == ["auth-fail", "protocol", "protocol", "protocol",
                     "relay", "spoofed-relay"]
    by_ip = {x["client_ip"]: x for x in recs}
    assert by_ip["211.219.235.140"]["client_name"] == "unknown"
    assert by_ip["192.0.2.7"]["client_name"] == "dsl.kornet.example"
    assert datetime.fromisoformat(by_ip["192.0.2.7"]["time"]).timestamp() \
        == datetime.fromisoformat("2026-03-08T06:32:55.25+09:00").timestamp()
    assert by_ip["192.0.2.8"]["user"] == "bob"
    assert "PREGREET" in by_ip["192.0.2.9"]["reply"]
    line = [x for x in p.cli("log").stdout.splitlines()
            if "211.219.235.140" in x][0]
    assert line.endswith("  unknown [211.219.235.140] "
                         "from=<bbbb@gabacho-net.jp> to=<aaaa@empal.com>")
    r = p.cli("import", str(log))
    assert "imported 0 records" in r.stdout and "6 already" in r.stdout
    assert len(records(p)) == 6


def journal(message, ident, pid="4242", delta=0):
    return json.dumps({
        "__CURSOR": "s=abc;i=1", "_HOSTNAME": "mx",
        "__REALTIME_TIMESTAMP": str(int((time.time() + delta) * 1e6)),
        "PRIORITY": "6", "SYSLOG_FACILITY": "2",
        "SYSLOG_IDENTIFIER": ident, "_PID": pid, "MESSAGE": message,
        "_SOURCE_REALTIME_TIMESTAMP": "1", "_BOOT_ID": "x",
        "BINARY": [1, 2, {"nested": [3]}], "N": None, "T": True,
    })


def test_journal_json(make_pillory):
    p = cli_pillory(make_pillory)
    log = p.dir / "journal.json"
    log.write_text("\n".join([
        journal(REJECT.format(name="unknown", ip="203.0.113.50",
                              to="v@empal.com", frm="u@gabacho-net.jp",
                              helo="\u3042"), "postfix/smtpd"),
        journal("pop3-login: Login: user=<alice@example.test>, "
                "method=PLAIN, rip=203.0.113.60, lip=192.0.2.1, "
                "mpid=7, session=<x>", "dovecot", delta=-5),
        journal("imap-login: Login: user=<bob@example.test>, "
                "method=PLAIN, rip=2001:db8::60, lip=::1, mpid=8", "dovecot"),
        journal("connect from unknown[203.0.113.70]", "postfix/smtpd"),
        '{"MESSAGE": "broken',
    ]) + "\n")
    r = p.cli("import", "--format", "journal-json", str(log))
    assert r.returncode == 0, r.stderr
    assert "imported 1 records, 2 grants" in r.stdout
    recs = records(p)
    assert recs[0]["kind"] == "spoofed-relay"
    assert recs[0]["helo"] == "\u3042"
    grants = p.cli("grants").stdout
    assert "203.0.113.60" in grants and "alice@example.test" in grants
    assert "2001:db8::60" in grants
    r = p.cli("import", str(log))       # auto detects JSON
    assert "imported 0 records, 0 grants" in r.stdout


def test_old_login_gives_no_grant(make_pillory):
    p = cli_pillory(make_pillory)
    log = p.dir / "dovecot.log"
    log.write_text(f"{now_rfc3339(-3600)} mx dovecot: pop3-login: Login: "
                   "user=<a@example.test>, method=PLAIN, rip=192.0.2.99, "
                   "lip=192.0.2.1\n")
    r = p.cli("import", str(log))
    assert "0 grants" in r.stdout
    assert "192.0.2.99" not in p.cli("grants").stdout


def start_import(p, *args, stdin=None):
    e = dict(os.environ)
    e.update(SAN_ENV)
    return subprocess.Popen([BIN, "-c", str(p.conf), "import"] + list(args),
                            stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)


def wait_count(p, n, timeout=10):
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        r = p.cli("log", "--json")
        # The store may still be being created by the importer.
        got = r.stdout.splitlines() if r.returncode == 0 else []
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{len(got)} records, wanted {n}")


def syslog_reject(ip):
    return (f"{now_rfc3339()} mx postfix/smtpd[9]: " +
            REJECT.format(name="unknown", ip=ip, to="v@empal.com",
                          frm="x@other.example", helo="h") + "\n")


def test_follow_file_across_rotation_and_truncation(make_pillory):
    p = cli_pillory(make_pillory)
    log = p.dir / "mail.log"
    log.write_text(syslog_reject("192.0.2.1"))
    proc = start_import(p, "--follow", str(log))
    try:
        wait_count(p, 1)
        with open(log, "a") as f:
            f.write(syslog_reject("192.0.2.2"))
            f.flush()
            # Half a line is kept until its end arrives.
            line = syslog_reject("192.0.2.3")
            f.write(line[:40])
            f.flush()
            time.sleep(0.6)
            f.write(line[40:])
        wait_count(p, 3)
        # Rotation: the last lines of the old file, then the new file.
        with open(log, "a") as f:
            f.write(syslog_reject("192.0.2.4"))
        os.rename(log, str(log) + ".1")
        log.write_text(syslog_reject("192.0.2.5"))
        wait_count(p, 5)
        # Truncation (copytruncate): read again from the start.
        open(log, "w").close()
        time.sleep(0.6)
        with open(log, "a") as f:
            f.write(syslog_reject("192.0.2.6"))
        wait_count(p, 6)
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
    ips = [x["client_ip"] for x in records(p)]
    assert sorted(ips) == [f"192.0.2.{i}" for i in range(1, 7)]


def test_follow_pipe(make_pillory):
    p = cli_pillory(make_pillory)
    proc = start_import(p, "--format", "journal-json", "--follow", "-",
                        stdin=subprocess.PIPE)
    try:
        proc.stdin.write(journal(REJECT.format(
            name="unknown", ip="198.51.100.1", to="v@empal.com",
            frm="x@other.example", helo="h"), "postfix/smtpd") + "\n")
        proc.stdin.flush()
        wait_count(p, 1)
        proc.stdin.write(journal("pop3-login: Login: user=<a@example.test>"
                                 ", method=PLAIN, rip=198.51.100.2, "
                                 "lip=192.0.2.1", "dovecot") + "\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "1 records, 1 grants" in out
    assert "198.51.100.2" in p.cli("grants").stdout


def test_usage_errors(make_pillory):
    p = cli_pillory(make_pillory)
    assert p.cli("import").returncode == 2
    r = p.cli("import", "--format", "exim", "x")
    assert r.returncode == 2 and "unknown format" in r.stderr
    r = p.cli("import", str(p.dir / "missing.log"))
    assert r.returncode == 1
