"""Relay control through the real daemon (PRODUCT.md part 2): a client that
has proved nothing (bound to 127.0.0.2, outside trusted_networks) can never
get mail relayed, whatever it claims in HELO or MAIL FROM and whatever
routing trick it writes in RCPT TO. Checked with raw sockets, swaks and
nmap's smtp-open-relay script; the positive cases (trusted client, source
route to a local user, nmap against a trusting config) prove that each
check can fail."""
import json
import re
import subprocess

import pytest

from conftest import Client

UNTRUSTED = "127.0.0.2"


def session(p, source=UNTRUSTED, helo="client.example", port=None):
    """A raw client past the greeting and EHLO."""
    c = Client(p.connect(port=port, source=source))
    code, _ = c.reply()
    assert code == 220
    assert c.cmd(f"EHLO {helo}")[0] == 250
    return c


def queue_files(p):
    q = p.state / "queue"
    return sorted(x.name for x in q.iterdir()) if q.exists() else []


def all_mail(p):
    """Every file in any Maildir (tmp, new, cur) under STATE_DIR/mail."""
    m = p.state / "mail"
    return sorted(str(x) for x in m.rglob("*") if x.is_file()) \
        if m.exists() else []


def assert_nothing_stored(p):
    assert queue_files(p) == [], "queued: %r" % queue_files(p)
    assert all_mail(p) == [], "delivered: %r" % all_mail(p)


def try_relay(p, sender, rcpt, helo="client.example", source=UNTRUSTED):
    """MAIL + RCPT from the untrusted source; then DATA anyway, which must
    find no recipient. Returns the RCPT reply."""
    c = session(p, source=source, helo=helo)
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
    if code != 250:
        # No recipient was accepted: DATA must not open a message.
        assert c.cmd("DATA")[0] in (503, 554)
        assert c.cmd("QUIT")[0] == 221
    c.close()
    return code, lines


def assert_relay_denied(code, lines):
    assert code == 554, (code, lines)
    assert lines[0].startswith("5.7.1"), lines
    assert "Relay access denied" in lines[0], lines


# ---- every relay trick from an untrusted client ----------------------------

RELAY_TRICKS = [
    # (sender, recipient, helo)
    ("someone@outside.test", "victim@evil.test", "client.example"),
    ("alice@example.test", "victim@evil.test", "client.example"),
    ("", "victim@evil.test", "client.example"),
    ("postmaster@example.test", "victim@evil.test", "client.example"),
    ("someone@outside.test", "victim@evil.test", "mx.example.test"),
    ("someone@outside.test", "victim@evil.test", "example.test"),
    ("alice@example.test", "victim@evil.test", "mx.example.test"),
    # percent hack, bang path, quoted @ in the local part
    ("someone@outside.test", "user%evil.test@example.test", "client.example"),
    ("someone@outside.test", "alice%example.test@example.test",
     "client.example"),
    ("someone@outside.test", "evil.test!user@example.test", "client.example"),
    ("someone@outside.test", '"user@evil.test"@example.test',
     "client.example"),
    ("someone@outside.test", '"user%evil.test"@example.test',
     "client.example"),
    # a source route through our domain to a foreign mailbox
    ("someone@outside.test", "@example.test:victim@evil.test",
     "client.example"),
    ("someone@outside.test", "@example.test,@gabacho-net.jp:victim@evil.test",
     "client.example"),
    # address literals, even our own address
    ("someone@outside.test", "victim@[192.0.2.1]", "client.example"),
    ("someone@outside.test", "victim@[IPv6:2001:db8::1]", "client.example"),
    ("someone@outside.test", "postmaster@[127.0.0.1]", "client.example"),
    ("alice@example.test", "alice@[127.0.0.1]", "client.example"),
    # look-alike domains are foreign
    ("someone@outside.test", "alice@example.test.evil.com", "client.example"),
    ("someone@outside.test", "alice@xexample.test", "client.example"),
    ("someone@outside.test", "alice@example.tes", "client.example"),
    ("someone@outside.test", "alice@mx.example.test", "client.example"),
    ("someone@outside.test", "carol@gabacho-net.jp.evil.com",
     "client.example"),
]


@pytest.mark.parametrize("sender,rcpt,helo", RELAY_TRICKS,
                         ids=[f"{s or '<>'}->{r}@helo={h}"
                              for s, r, h in RELAY_TRICKS])
def test_relay_trick_refused(make_pillory, sender, rcpt, helo):
    p = make_pillory()
    code, lines = try_relay(p, sender, rcpt, helo=helo)
    assert_relay_denied(code, lines)
    assert_nothing_stored(p)
    assert "verdict=deny" in p.log()


def test_trailing_dot_domain_is_not_relayed(make_pillory):
    """alice@example.test. is either a syntax error or foreign; never 250."""
    p = make_pillory()
    code, lines = try_relay(p, "someone@outside.test", "alice@example.test.")
    assert code in (501, 553, 554), (code, lines)
    assert_nothing_stored(p)


def test_routing_tricks_refused_in_one_pipelined_session(make_pillory):
    """The same tricks pipelined in one transaction: each gets its own
    refusal, the one local recipient is accepted, and only it is stored."""
    p = make_pillory(**{"smtp__max_errors": "100"})
    c = session(p)
    rcpts = ["user%evil.test@example.test", "evil.test!user@example.test",
             '"user@evil.test"@example.test', "@example.test:victim@evil.test",
             "victim@[192.0.2.1]", "alice@example.test.evil.com",
             "bob@example.test"]
    burst = b"MAIL FROM:<someone@outside.test>\r\n" + b"".join(
        f"RCPT TO:<{r}>\r\n".encode() for r in rcpts) + b"DATA\r\n"
    c.send(burst)
    assert c.reply()[0] == 250
    replies = [c.reply() for _ in rcpts]
    for r, (code, lines) in zip(rcpts[:-1], replies[:-1]):
        assert code == 554 and lines[0].startswith("5.7.1"), (r, code, lines)
    assert replies[-1][0] == 250
    assert c.reply()[0] == 354
    c.send(b"Subject: mixed\r\n\r\nbody\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    assert c.cmd("QUIT")[0] == 221
    assert queue_files(p) == []
    assert len(p.messages("bob")) == 1
    assert len(all_mail(p)) == 1   # bob's copy, nothing else


def test_source_route_to_local_user_is_delivered_locally(make_pillory):
    """<@evil.test:alice@example.test>: the route is dropped (RFC 5321
    appendix C), the mailbox is ours, so it is delivered to alice and not
    sent anywhere."""
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<@evil.test:alice@example.test>")
    assert code == 250, lines
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: routed\r\n\r\nvia a source route\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    c.cmd("QUIT")
    msgs = p.messages("alice")
    assert len(msgs) == 1 and b"via a source route" in msgs[0]
    assert queue_files(p) == []


def test_upper_case_domain_is_local(make_pillory):
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@EXAMPLE.TEST>")[0] == 250
    assert c.cmd("RCPT TO:<Carol@Gabacho-Net.JP>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: case\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    assert len(p.messages("alice")) == 1
    assert len(p.messages("carol", "gabacho-net.jp")) == 1
    assert queue_files(p) == []


def test_unknown_local_user_refused_at_rcpt(make_pillory):
    """550 5.1.1 at RCPT time (no backscatter later); the log says what
    happened, without a misleading alias warning for a plain address."""
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<nobody@example.test>")
    assert code == 550 and lines[0].startswith("5.1.1"), (code, lines)
    assert c.cmd("DATA")[0] == 554
    c.cmd("QUIT")
    c.close()
    assert_nothing_stored(p)
    log = p.log()
    assert re.search(r"Recipient address rejected: User unknown; helo=<"
                     r"[^>]*> from=<someone@outside\.test> "
                     r"to=<nobody@example\.test>", log), log
    assert "alias target <nobody@example.test>" not in log, log


def test_quoted_plain_local_part_is_the_same_user(make_pillory):
    """RFC 5321 4.1.2: "alice" and alice are the same local part."""
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd('RCPT TO:<"alice"@example.test>')[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: q\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    assert len(p.messages("alice")) == 1
    assert queue_files(p) == []


def test_operator_alias_forwards_out_from_anyone(make_pillory):
    """fwd@example.test is ours and its alias points outside: that is the
    operator's forwarding, not relaying; it goes to the queue."""
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<fwd@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: fwd\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    c.cmd("QUIT")
    envs = [f for f in queue_files(p) if f.endswith(".env")]
    assert len(envs) == 1
    env = (p.state / "queue" / envs[0]).read_text()
    assert "rcpt someone@remote.test\n" in env
    assert "rcpt fwd@example.test" not in env


def test_seed_attack_refused_and_logged(make_pillory):
    """The seed's attack: our own domain forged as sender, a foreign
    recipient, from an ISP address."""
    p = make_pillory()
    c = session(p, helo="unknown")
    assert c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@empal.com>")
    assert_relay_denied(code, lines)
    assert c.cmd("MAIL FROM:<good@gabacho-net.jp>")[0] == 503  # still in txn
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("MAIL FROM:<good@gabacho-net.jp>")[0] == 250
    assert_relay_denied(*c.cmd("RCPT TO:<y@empal.com>"))
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert_nothing_stored(p)
    assert re.search(r"reject: RCPT from \S+\[127\.0\.0\.2\]: .*from=<bbbb@gabacho-net\.jp> "
                     r"to=<x@empal\.com> verdict=deny attack=spoofed-relay",
                     p.log()), p.log()


def test_seed_attack_in_attack_log(make_pillory):
    p = make_pillory()
    c = session(p)
    c.cmd("MAIL FROM:<bbbb@gabacho-net.jp>")
    assert c.cmd("RCPT TO:<x@empal.com>")[0] == 554
    c.cmd("QUIT")
    c.close()
    assert p.stop() == 0   # the writer thread flushes at exit
    r = p.cli("log", "--json")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
    hits = [x for x in recs if x.get("to") == "x@empal.com"]
    assert len(hits) == 1, recs
    assert hits[0]["kind"] == "spoofed-relay"
    assert hits[0]["client_ip"] == UNTRUSTED
    assert hits[0]["from"] == "bbbb@gabacho-net.jp"
    assert hits[0]["port"] == p.port


# ---- reject_forged_local_sender ------------------------------------------


def forged_local(p, source=UNTRUSTED):
    c = session(p, source=source)
    assert c.cmd("MAIL FROM:<carol@gabacho-net.jp>")[0] == 250
    code, lines = c.cmd("RCPT TO:<alice@example.test>")
    if code == 250:
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: forged?\r\n\r\nx\r\n.\r\n")
        assert c.reply()[0] == 250
    c.cmd("QUIT")
    c.close()
    return code, lines


def test_forged_local_sender_refused(make_pillory):
    p = make_pillory()
    code, lines = forged_local(p)
    assert code == 550, (code, lines)
    assert lines[0].startswith("5.7.1"), lines
    assert p.messages("alice") == []
    assert "attack=forged-local" in p.log()


def test_forged_local_sender_allowed_when_switched_off(make_pillory):
    p = make_pillory(**{"smtp__reject_forged_local_sender": "no"})
    code, lines = forged_local(p)
    assert code == 250, (code, lines)
    assert len(p.messages("alice")) == 1


def test_local_sender_from_trusted_client_delivered(make_pillory):
    p = make_pillory()
    code, lines = forged_local(p, source="127.0.0.1")
    assert code == 250, (code, lines)
    assert len(p.messages("alice")) == 1


def test_outside_sender_to_local_user_is_fine(make_pillory):
    """The forged-local rule must not turn into refusing ordinary mail."""
    p = make_pillory()
    c = session(p)
    assert c.cmd("MAIL FROM:<friend@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.cmd("RSET")
    assert c.cmd("MAIL FROM:<>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.close()


# ---- trusted clients relay, into the durable queue -----------------------


def test_trusted_client_relays_into_queue(make_pillory):
    p = make_pillory()
    c = session(p, source="127.0.0.1")
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@remote.test>")
    assert code == 250, lines
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: outbound\r\n\r\nto the world\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    m = re.search(r"queued as (\S+)", lines[0])
    assert m, lines
    qid = m.group(1)
    c.cmd("QUIT")
    c.close()
    assert queue_files(p) == [f"{qid}.env", f"{qid}.msg"]
    env = (p.state / "queue" / f"{qid}.env").read_text()
    assert "rcpt x@remote.test\n" in env
    assert "sender alice@example.test\n" in env
    msg = (p.state / "queue" / f"{qid}.msg").read_bytes()
    assert b"to the world" in msg and b"Subject: outbound" in msg
    assert all_mail(p) == []


def test_untrusted_same_transaction_as_trusted_is_refused(make_pillory):
    """The very dialogue that queues from 127.0.0.1 is refused from
    127.0.0.2: the only difference is the client's address."""
    p = make_pillory()
    code, lines = try_relay(p, "alice@example.test", "x@remote.test")
    assert_relay_denied(code, lines)
    assert_nothing_stored(p)


def test_trusted_networks_change_decides(make_pillory):
    """127.0.0.2 becomes trusted when its network is listed: the decision
    follows trusted_networks, nothing else."""
    p = make_pillory(**{"relay__trusted_networks": "127.0.0.0/30"})
    code, lines = try_relay(p, "someone@outside.test", "x@remote.test")
    assert code == 250, lines
    q = make_pillory(**{"relay__trusted_networks": "127.0.0.2/32"})
    code, lines = try_relay(q, "someone@outside.test", "x@remote.test",
                            source="127.0.0.1")
    assert_relay_denied(code, lines)


# ---- swaks ---------------------------------------------------------------


def swaks(p, source, sender, rcpt, helo="swaks.example"):
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{p.port}", "--local-interface",
         source, "--from", sender, "--to", rcpt, "--helo", helo,
         "--timeout", "20"],
        capture_output=True, text=True, timeout=60)


def test_swaks_relay_refused_from_untrusted(make_pillory):
    p = make_pillory()
    r = swaks(p, UNTRUSTED, "bbbb@gabacho-net.jp", "x@empal.com",
              helo="mx.example.test")
    assert r.returncode != 0, r.stdout
    assert re.search(r"<\*\* +554 5\.7\.1 <x@empal\.com>: Relay access "
                     r"denied", r.stdout), r.stdout
    assert_nothing_stored(p)


def test_swaks_percent_hack_refused(make_pillory):
    p = make_pillory()
    r = swaks(p, UNTRUSTED, "someone@outside.test",
              "victim%evil.test@example.test")
    assert r.returncode != 0, r.stdout
    assert "<** 554 5.7.1" in r.stdout, r.stdout
    assert_nothing_stored(p)


def test_swaks_relay_allowed_from_trusted(make_pillory):
    p = make_pillory()
    r = swaks(p, "127.0.0.1", "alice@example.test", "x@remote.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    assert len([f for f in queue_files(p) if f.endswith(".env")]) == 1


# ---- nmap smtp-open-relay --------------------------------------------------


def nmap_open_relay(p):
    r = subprocess.run(
        ["nmap", "-Pn", "-n", "-vv", "-p", str(p.port),
         "--script", "+smtp-open-relay",   # '+': run on a non-25 port
         "--script-args",
         "smtp-open-relay.domain=example.test,smtp-open-relay.ip=127.0.0.1",
         "127.0.0.1"],
        capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "smtp-open-relay" in r.stdout, r.stdout
    return r.stdout


def test_nmap_reports_no_open_relay(make_pillory):
    """nmap connects from 127.0.0.1, which this daemon does not trust. With
    the default config nmap must be able to run all its 16 tests and find
    every one refused."""
    p = make_pillory(**{"relay__trusted_networks": "192.0.2.0/24"})
    out = nmap_open_relay(p)
    assert "Server doesn't seem to be an open relay, all tests failed" \
        in out, out
    assert "Server is an open relay" not in out
    assert_nothing_stored(p)


def test_nmap_reports_no_open_relay_patient_server(make_pillory):
    """Same, with max_errors raised so that the refusals themselves never
    end the session: isolates the relay decision from the error limit."""
    p = make_pillory(**{"relay__trusted_networks": "192.0.2.0/24",
                        "smtp__max_errors": "100"})
    out = nmap_open_relay(p)
    assert "Server doesn't seem to be an open relay, all tests failed" \
        in out, out
    assert "Server is an open relay" not in out
    assert_nothing_stored(p)


def test_nmap_detects_relay_when_client_is_trusted(make_pillory):
    """Proof that the nmap check can fail: 127.0.0.1 trusted -> relay."""
    p = make_pillory(**{"smtp__max_errors": "100"})
    out = nmap_open_relay(p)
    m = re.search(r"Server is an open relay \((\d+)/16 tests\)", out)
    assert m and int(m.group(1)) >= 1, out
    assert "doesn't seem to be an open relay" not in out
