"""The SMTP dialogue through the real daemon: commands, replies, local
delivery into Maildir, with smtplib, swaks and raw sockets."""
import smtplib
import subprocess

from conftest import Client


def test_greeting_and_ehlo(client):
    code, lines = client.cmd("EHLO client.example")
    assert code == 250
    assert lines[0].startswith("mx.example.test")
    caps = {ln.split()[0] for ln in lines[1:]}
    assert {"PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"} <= caps
    # AUTH and STARTTLS are not offered without TLS support configured.
    assert "AUTH" not in caps


def test_smtplib_delivers_to_maildir(pillory):
    body = "Subject: hi\r\n\r\nhello\r\n.leading dot\r\n..two dots\r\n"
    with smtplib.SMTP("127.0.0.1", pillory.port, timeout=10) as s:
        s.ehlo("client.example")
        refused = s.sendmail("someone@outside.test", ["alice@example.test"],
                             body)
        assert refused == {}
    msgs = pillory.messages("alice")
    assert len(msgs) == 1
    m = msgs[0]
    # Final delivery headers first (RFC 5321 4.4), then our Received.
    assert m.startswith(b"Return-Path: <someone@outside.test>\n"
                        b"Delivered-To: alice@example.test\n"
                        b"Received: from client.example (unknown [127.0.0.1])")
    assert b"by mx.example.test (pillory) with ESMTP id" in m
    assert b"for <alice@example.test>" in m
    # dot-unstuffing: smtplib doubled the dots, the server undid it
    assert b"\n.leading dot\n" in m
    assert b"\n..two dots\n" in m
    assert b"\r" not in m  # stored with LF line ends, as Maildir expects


def test_swaks_delivery(pillory):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{pillory.port}",
                        "--from", "x@outside.test", "--to",
                        "bob@example.test", "--helo", "swaks.example"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    assert len(pillory.messages("bob")) == 1


def test_helo_and_simple_commands(client):
    assert client.cmd("HELO client.example")[0] == 250
    assert client.cmd("NOOP")[0] == 250
    code, lines = client.cmd("VRFY alice")
    assert code == 252
    code, lines = client.cmd("HELP")
    assert code == 214 and "MAIL" in lines[0]
    assert client.cmd("RSET")[0] == 250
    code, _ = client.cmd("QUIT")
    assert code == 221
    assert client.closed()


def test_sequence_errors(client):
    assert client.cmd("MAIL FROM:<a@outside.test>")[0] == 503
    assert client.cmd("EHLO c")[0] == 250
    assert client.cmd("RCPT TO:<alice@example.test>")[0] == 503
    assert client.cmd("DATA")[0] == 503
    assert client.cmd("MAIL FROM:<a@outside.test>")[0] == 250
    assert client.cmd("MAIL FROM:<a@outside.test>")[0] == 503
    code, lines = client.cmd("DATA")
    assert code == 554
    assert client.cmd("FOO bar")[0] == 500
    assert client.cmd("EXPN staff")[0] == 502


def test_syntax_errors(client):
    client.cmd("EHLO c")
    assert client.cmd("MAIL FROM:a@outside.test")[0] == 501
    assert client.cmd("MAIL FROM:<a@outside.test> FOO=bar")[0] == 555
    assert client.cmd("MAIL FROM:<a@outside.test> SIZE=999999999999")[0] == 552
    assert client.cmd("MAIL FROM:<a@outside.test> SIZE=100 BODY=8BITMIME")[0] == 250
    assert client.cmd("RCPT TO:<alice@example.test> NOTIFY=NEVER")[0] == 555
    assert client.cmd("RCPT TO:<>")[0] == 501


def test_unknown_user_and_postmaster(client, pillory):
    client.cmd("EHLO c")
    client.cmd("MAIL FROM:<a@outside.test>")
    code, lines = client.cmd("RCPT TO:<nobody@example.test>")
    assert code == 550 and lines[0].startswith("5.1.1")
    assert client.cmd("RCPT TO:<postmaster@example.test>")[0] == 250
    assert client.cmd("RCPT TO:<Postmaster>")[0] == 250
    assert client.cmd("RCPT TO:<POSTMASTER@GABACHO-NET.JP>")[0] == 250
    assert client.cmd("RCPT TO:<alice@EXAMPLE.TEST>")[0] == 250
    assert client.cmd("DATA")[0] == 354
    client.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert client.reply()[0] == 250
    assert len(pillory.messages("postmaster")) == 1
    assert len(pillory.messages("postmaster", "gabacho-net.jp")) == 1
    assert len(pillory.messages("alice")) == 1


def test_aliases(client, pillory):
    client.cmd("EHLO c")
    client.cmd("MAIL FROM:<a@outside.test>")
    assert client.cmd("RCPT TO:<info@example.test>")[0] == 250
    assert client.cmd("RCPT TO:<abuse@gabacho-net.jp>")[0] == 250
    assert client.cmd("DATA")[0] == 354
    client.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert client.reply()[0] == 250
    # info -> alice, bob; abuse (bare, any domain) -> alice: alice once
    assert len(pillory.messages("alice")) == 1
    assert len(pillory.messages("bob")) == 1


def test_size_limit_after_data(make_pillory):
    p = make_pillory(smtp__max_message_size="2K")
    c = Client(p.connect())
    c.reply()
    c.cmd("EHLO c")
    c.cmd("MAIL FROM:<a@outside.test>")
    c.cmd("RCPT TO:<alice@example.test>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 900 + b"\r\n") * 4 + b".\r\n")
    code, lines = c.reply()
    assert code == 552 and lines[0].startswith("5.3.4")
    assert p.messages("alice") == []
    # the session goes on
    assert c.cmd("NOOP")[0] == 250


def test_too_many_recipients_and_pipelining(make_pillory):
    """10,000 RCPTs pipelined in one write: the first max_recipients are
    accepted, the rest get 452, and DATA delivers."""
    p = make_pillory(smtp__max_recipients="100")
    c = Client(p.connect())
    c.reply()
    c.cmd("EHLO c")
    burst = b"MAIL FROM:<a@outside.test>\r\n" + \
        b"RCPT TO:<alice@example.test>\r\n" * 10000
    c.send(burst)
    assert c.reply()[0] == 250
    codes = [c.reply()[0] for _ in range(10000)]
    assert codes[:100] == [250] * 100
    assert set(codes[100:]) == {452}
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert len(p.messages("alice")) == 1


def test_pipelined_transaction_in_one_packet(client, pillory):
    client.send(b"EHLO c\r\nMAIL FROM:<a@outside.test>\r\n"
                b"RCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
                b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
    assert client.reply()[0] == 250
    assert [client.reply()[0] for _ in range(4)] == [250, 250, 550, 250]
    assert client.reply()[0] == 354
    client.send(b"Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert client.reply()[0] == 250
    assert client.reply()[0] == 221
    assert len(pillory.messages("alice")) == 1
    assert len(pillory.messages("bob")) == 1


def test_error_limit_disconnects(make_pillory):
    p = make_pillory(smtp__max_errors="3")
    c = Client(p.connect())
    c.reply()
    assert c.cmd("BOGUS")[0] == 500
    assert c.cmd("BOGUS")[0] == 500
    code, lines = c.cmd("BOGUS")
    assert code == 500
    assert c.reply()[0] == 421
    assert c.closed()
