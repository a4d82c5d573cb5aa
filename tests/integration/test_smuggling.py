"""Line discipline through the real daemon, with exact bytes: a line ends
only at CRLF; bare CR or LF, NUL and 8-bit octets in commands are refused
with exactly one reply; over-long lines get exactly one reply and their
tail never becomes a command; in DATA a bare CR/LF around a dot never ends
the message (SMTP smuggling, CVE-2023-51764/5/6) and poisons it instead.

"Exactly one reply" is checked without sleeping: each probe is followed by
VRFY, whose 252 must be the very next reply. Any extra reply produced by
the probe would arrive before it, since replies keep the input's order."""
import json
import re

import pytest

from conftest import Client

SMUGGLED = (b"MAIL FROM:<x@evil.test>\r\n"
            b"RCPT TO:<bob@example.test>\r\n"
            b"DATA\r\n"
            b"From: x@evil.test\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"smuggled body\r\n")


def ehlo(client):
    code, _ = client.cmd("EHLO c.example")
    assert code == 250


def next_is_vrfy(client):
    """Send VRFY; its 252 must be the next reply (no stray replies)."""
    code, lines = client.cmd("VRFY probe")
    assert code == 252, (code, lines)


def open_data(client, rcpt="alice@example.test"):
    assert client.cmd("MAIL FROM:<sender@outside.test>")[0] == 250
    assert client.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert client.cmd("DATA")[0] == 354


def nothing_delivered(p):
    assert p.messages("alice") == []
    assert p.messages("bob") == []
    q = p.state / "queue"
    assert not q.exists() or list(q.iterdir()) == []
    tmp = p.state / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


# ---- commands -------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"NOOP\nRSET\r\n", b"NOOP\rRSET\r\n",
                                 b"NOOP\nQUIT\r\n", b"NOOP\rQUIT\r\n",
                                 b"\nQUIT\r\n", b"QUIT\r\rQUIT\r\n"],
                         ids=["lf-rset", "cr-rset", "lf-quit", "cr-quit",
                              "leading-lf", "double-cr"])
def test_bare_eol_in_command_gets_one_reply(client, bad):
    ehlo(client)
    client.send(bad)
    code, lines = client.reply()
    assert code == 500, (code, lines)
    assert lines[0].startswith("5.5.2"), lines
    next_is_vrfy(client)   # QUIT in the tail was not executed either
    assert client.cmd("NOOP")[0] == 250


def test_bare_lf_lines_never_end_a_command(client):
    """Bare-LF-only input is one incomplete line: no reply at all until a
    CRLF arrives, then exactly one."""
    ehlo(client)
    client.send(b"NOOP\nNOOP\nNOOP\nNOOP\n")
    client.send(b"\r\n")
    code, _ = client.reply()
    assert code == 500
    next_is_vrfy(client)


def test_nul_in_command(client):
    ehlo(client)
    client.send(b"NO\x00OP\r\n")
    code, lines = client.reply()
    assert code == 500 and lines[0].startswith("5.5.2"), lines
    next_is_vrfy(client)
    client.send(b"MAIL FROM:<a\x00b@outside.test>\r\n")
    assert client.reply()[0] == 500
    next_is_vrfy(client)


def test_8bit_in_command(client):
    ehlo(client)
    client.send(b"NOOP \xe3\x81\x82\r\n")
    code, lines = client.reply()
    assert code == 500 and lines[0].startswith("5.5.2"), lines
    next_is_vrfy(client)
    client.send(b"MAIL FROM:<\xff@outside.test>\r\n")
    assert client.reply()[0] == 500
    next_is_vrfy(client)


def test_overlong_command_one_reply(client):
    ehlo(client)
    client.send(b"NOOP " + b"A" * 2000 + b"\r\n")
    code, lines = client.reply()
    assert code == 500, (code, lines)
    assert lines[0].startswith("5.5.2"), lines
    next_is_vrfy(client)
    assert client.cmd("NOOP")[0] == 250


def test_overlong_command_tail_is_not_a_command(client, pillory):
    """Whatever sits past any buffer boundary of a long line is part of
    that line: the QUIT at its end is never executed."""
    ehlo(client)
    for n in (1019, 1024, 1030, 2000, 70000):
        client.send(b"X" * n + b"QUIT\r\n")
        code, lines = client.reply()
        assert code == 500, (n, code, lines)
        next_is_vrfy(client)
    assert "quit" not in pillory.log().lower()


@pytest.mark.parametrize("split", ["middle", "cr-lf", "many"])
def test_overlong_command_in_chunks(client, split):
    """Over-long line without CRLF in the first chunk: one 500 when the
    limit is passed, none when the rest (and its CRLF) arrives."""
    ehlo(client)
    if split == "middle":
        client.send(b"NOOP " + b"B" * 1500)
        code, lines = client.reply()   # refused before the line ends
        assert code == 500 and lines[0].startswith("5.5.2"), lines
        client.send(b"B" * 1500 + b"QUIT\r\n")
    elif split == "cr-lf":
        client.send(b"NOOP " + b"B" * 1500 + b"\r")
        assert client.reply()[0] == 500
        client.send(b"\n")
    else:
        client.send(b"NOOP " + b"C" * 1100)
        assert client.reply()[0] == 500
        for _ in range(20):
            client.send(b"C" * 1000 + b"\nQUIT\r")
        client.send(b"\n")
    next_is_vrfy(client)
    assert client.cmd("NOOP")[0] == 250


def test_command_of_maximum_length_accepted(client):
    """RFC 5321 4.5.3.1.4: 512 octets with CRLF must be accepted."""
    ehlo(client)
    line = b"NOOP " + b"n" * (512 - 2 - 5)
    assert len(line) + 2 == 512
    client.send(line + b"\r\n")
    assert client.reply()[0] == 250
    local = "l" * 64
    dom = ".".join(["d" * 60] * 3) + ".test"
    code, lines = client.cmd(f"MAIL FROM:<{local}@{dom}> SIZE=100 "
                             "BODY=8BITMIME")
    assert code == 250, lines


# ---- DATA smuggling -------------------------------------------------------


SMUGGLE_ENDS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r",
                b"\r.\r\n", b"\r\n.\r\r\n", b"\n..\n", b"\r\n\x00.\r\n"]


@pytest.mark.parametrize("fake_end", SMUGGLE_ENDS,
                         ids=[repr(x)[2:-1] for x in SMUGGLE_ENDS])
def test_data_smuggling_variants(client, pillory, fake_end):
    ehlo(client)
    open_data(client)
    client.send(b"From: sender@outside.test\r\nSubject: outer\r\n\r\n"
                b"outer body" + fake_end + SMUGGLED + b".\r\n")
    code, lines = client.reply()
    assert code == 554, (code, lines)
    assert lines[0].startswith("5.6.0"), lines
    # Nothing of the smuggled transaction ran: the next reply is VRFY's.
    next_is_vrfy(client)
    nothing_delivered(pillory)
    # ... and the session is usable for an honest message afterwards.
    open_data(client, "bob@example.test")
    client.send(b"Subject: honest\r\n\r\nfine\r\n.\r\n")
    code, lines = client.reply()
    assert code == 250, lines
    msgs = pillory.messages("bob")
    assert len(msgs) == 1 and b"Subject: honest" in msgs[0]
    assert b"smuggled" not in msgs[0]
    assert pillory.messages("alice") == []


def test_data_smuggling_pipelined_in_one_write(client, pillory):
    """The attack as one TCP write after 354, with the smuggled message's
    own end: still exactly one reply for the whole blob."""
    ehlo(client)
    client.send(b"MAIL FROM:<sender@outside.test>\r\n"
                b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert [client.reply()[0] for _ in range(3)] == [250, 250, 354]
    client.send(b"Subject: outer\r\n\r\nx\n.\n" + SMUGGLED + b".\r\n"
                b"VRFY probe\r\n")
    code, lines = client.reply()
    assert code == 554 and lines[0].startswith("5.6.0"), (code, lines)
    assert client.reply()[0] == 252
    nothing_delivered(pillory)
    assert "bare" in pillory.log()


def test_data_smuggling_is_an_attack_record(make_pillory):
    p = make_pillory()
    c = Client(p.connect(source="127.0.0.2"))
    assert c.reply()[0] == 220
    ehlo(c)
    open_data(c)
    c.send(b"Subject: s\r\n\r\nx\n.\n" + SMUGGLED + b".\r\n")
    assert c.reply()[0] == 554
    c.cmd("QUIT")
    c.close()
    assert p.stop() == 0
    r = p.cli("log", "--json")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert [(x["kind"], x["client_ip"], x["to"]) for x in recs] == \
        [("protocol", "127.0.0.2", "alice@example.test")], recs


def test_bare_lf_elsewhere_in_data_refused(client, pillory):
    """Not only around a dot: any bare LF poisons the message."""
    ehlo(client)
    open_data(client)
    client.send(b"Subject: lf\n\nunix line ends\n.\r\n")
    # That CRLF ended one line holding bare LFs, not the message.
    client.send(b"more\r\n.\r\n")
    code, lines = client.reply()
    assert code == 554 and lines[0].startswith("5.6.0"), (code, lines)
    next_is_vrfy(client)
    nothing_delivered(pillory)


def test_nul_in_data(client, pillory):
    ehlo(client)
    open_data(client)
    client.send(b"Subject: nul\r\n\r\nbefore\x00after\r\n.\r\n")
    code, lines = client.reply()
    assert code == 554, (code, lines)
    assert lines[0].startswith("5.6.0"), lines
    next_is_vrfy(client)
    nothing_delivered(pillory)


@pytest.mark.parametrize("n", [999, 1500, 100000])
def test_overlong_data_line_refused(client, pillory, n):
    ehlo(client)
    open_data(client)
    client.send(b"Subject: long\r\n\r\n" + b"L" * n + b"\r\nafter\r\n.\r\n")
    code, lines = client.reply()
    assert code == 554, (n, code, lines)
    assert lines[0].startswith("5.6.0"), lines
    next_is_vrfy(client)
    nothing_delivered(pillory)


def test_overlong_data_line_does_not_hide_the_end(client, pillory):
    """A long line whose tail holds CRLF.CRLF-like text: the dot inside
    the long line is not the end; the real end comes later."""
    ehlo(client)
    open_data(client)
    client.send(b"Subject: long\r\n\r\n" + b"L" * 1200)
    client.send(b"L" * 10 + b"\r\n.\r\n" + b"RSET\r\n")
    # The dot after the long line IS a real end (the long line ended at
    # its CRLF); the message is refused there, and RSET is a command.
    code, lines = client.reply()
    assert code == 554 and lines[0].startswith("5.6.0"), (code, lines)
    assert client.reply()[0] == 250   # RSET
    next_is_vrfy(client)
    nothing_delivered(pillory)


def test_data_line_of_998_octets_accepted(client, pillory):
    ehlo(client)
    open_data(client)
    line = b"".join(b"%d" % (i % 10) for i in range(998))
    dotted = b"." + b"d" * 997     # dot-stuffed on the wire: 998 octets
    client.send(b"Subject: limit\r\n\r\n" + line + b"\r\n"
                b"." + b"d" * 997 + b"\r\n.\r\n")
    code, lines = client.reply()
    assert code == 250, (code, lines)
    msgs = pillory.messages("alice")
    assert len(msgs) == 1
    assert b"\n" + line + b"\n" in msgs[0]
    assert b"\n" + b"d" * 997 + b"\n" in msgs[0]   # unstuffed
    assert dotted not in msgs[0].split(b"\n")


def test_data_split_across_writes(client, pillory):
    """CRLF.CRLF split over several writes (even CR | LF) still ends DATA."""
    ehlo(client)
    open_data(client)
    for chunk in (b"Subject: split\r\n\r\nbody\r", b"\n", b".", b"\r",
                  b"\n"):
        client.send(chunk)
    code, lines = client.reply()
    assert code == 250, lines
    assert len(pillory.messages("alice")) == 1


# ---- pipelining ----------------------------------------------------------


def test_whole_transaction_and_quit_in_one_send(client, pillory):
    client.send(b"EHLO c.example\r\n"
                b"MAIL FROM:<sender@outside.test>\r\n"
                b"RCPT TO:<alice@example.test>\r\n"
                b"RCPT TO:<nobody@example.test>\r\n"
                b"RCPT TO:<x@evil.test>\r\n"
                b"RCPT TO:<bob@example.test>\r\n"
                b"DATA\r\n"
                b"Subject: pipelined\r\n\r\nall at once\r\n..dot\r\n.\r\n"
                b"MAIL FROM:<sender@outside.test>\r\n"
                b"RCPT TO:<carol@gabacho-net.jp>\r\n"
                b"DATA\r\n"
                b"Subject: second\r\n\r\nsecond\r\n.\r\n"
                b"QUIT\r\n")
    codes = [client.reply()[0] for _ in range(12)]
    # pillory trusts 127.0.0.1, so x@evil.test relays from here.
    assert codes == [250, 250, 250, 550, 250, 250, 354, 250,
                     250, 250, 354, 250], codes
    code, _ = client.reply()
    assert code == 221
    assert client.closed()
    a = pillory.messages("alice")
    b = pillory.messages("bob")
    assert len(a) == 1 and len(b) == 1
    # The same text; only the Delivered-To of each mailbox differs.
    assert a[0].replace(b"Delivered-To: alice@", b"Delivered-To: bob@") == b[0]
    assert b"\n.dot\n" in a[0]
    assert len(pillory.messages("carol", "gabacho-net.jp")) == 1
    ids = re.findall(r"queued id=(\S+)", pillory.log())
    assert len(ids) == 2 and ids[0] != ids[1]
