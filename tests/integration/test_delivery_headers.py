"""Final delivery headers: every message stored in a Maildir starts with
Return-Path (the envelope sender, RFC 5321 4.4) and Delivered-To (the
mailbox address), as Postfix's local and virtual delivery write them; each
mailbox gets its own copy, and mail that leaves through the queue gets
neither."""
import re
import smtplib

from conftest import Client


def send(pillory, sender, rcpts, body):
    with smtplib.SMTP("127.0.0.1", pillory.port, timeout=10) as s:
        s.ehlo("client.example")
        assert s.sendmail(sender, rcpts, body) == {}


def head(msg: bytes, n=2):
    return msg.split(b"\n")[:n]


def test_one_recipient(pillory):
    send(pillory, "someone@outside.test", ["alice@example.test"],
         "Subject: one\r\n\r\nbody\r\n")
    (m,) = pillory.messages("alice")
    assert head(m, 3) == [b"Return-Path: <someone@outside.test>",
                          b"Delivered-To: alice@example.test",
                          m.split(b"\n")[2]]
    assert m.split(b"\n")[2].startswith(b"Received: from client.example")


def test_each_mailbox_its_own_delivered_to(pillory):
    send(pillory, "someone@outside.test",
         ["alice@example.test", "BOB@example.test", "carol@gabacho-net.jp",
          "alice@example.test"],
         "Subject: many\r\n\r\nbody\r\n")
    (a,) = pillory.messages("alice")
    (b,) = pillory.messages("bob")
    (c,) = pillory.messages("carol", "gabacho-net.jp")
    assert head(a)[1] == b"Delivered-To: alice@example.test"
    assert head(b)[1] == b"Delivered-To: bob@example.test"
    assert head(c)[1] == b"Delivered-To: carol@gabacho-net.jp"
    for m in (a, b, c):
        assert head(m)[0] == b"Return-Path: <someone@outside.test>"
        assert m.endswith(b"\nbody\n")


def test_alias_delivers_to_final_mailboxes(pillory):
    # info@example.test: alice, bob@example.test (conftest aliases)
    send(pillory, "x@outside.test", ["info@example.test"],
         "Subject: alias\r\n\r\nbody\r\n")
    assert head(pillory.messages("alice")[0])[1] == \
        b"Delivered-To: alice@example.test"
    assert head(pillory.messages("bob")[0])[1] == \
        b"Delivered-To: bob@example.test"


def test_null_sender_and_postmaster(pillory):
    c = Client(pillory.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<>")[0] == 250
    assert c.cmd("RCPT TO:<Postmaster>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    assert c.cmd("Subject: dsn\r\n\r\nbounce\r\n.")[0] == 250
    c.cmd("QUIT")
    c.close()
    (m,) = pillory.messages("postmaster")
    assert head(m) == [b"Return-Path: <>",
                       b"Delivered-To: postmaster@example.test"]


def test_sizes_in_the_name_count_the_headers(pillory):
    # Over the 64 KiB buffer: the copy is made from the spool file.
    big = "".join(f"line {i:06d} " + "x" * 60 + "\r\n" for i in range(2000))
    send(pillory, "s@outside.test", ["alice@example.test", "bob@example.test"],
         "Subject: big\r\n\r\n" + big)
    for user in ("alice", "bob"):
        (f,) = list(pillory.maildir(user).iterdir())
        text = f.read_bytes()
        assert text.startswith(b"Return-Path: <s@outside.test>\n"
                               b"Delivered-To: " + user.encode())
        assert text.endswith(b"x" * 60 + b"\n")
        assert b"line 001999 " in text
        s = int(re.search(r",S=(\d+)", f.name).group(1))
        w = int(re.search(r",W=(\d+)", f.name).group(1))
        assert s == len(text)
        assert w == len(text) + text.count(b"\n")


def test_queued_copy_has_no_delivery_headers(pillory):
    # A trusted client relays; the queued text must not carry the local
    # delivery headers, while the local copy does.
    send(pillory, "alice@example.test",
         ["friend@remote.test", "bob@example.test"],
         "Subject: out\r\n\r\nbody\r\n")
    queued = list((pillory.state / "queue").glob("*.msg"))
    assert len(queued) == 1
    q = queued[0].read_bytes()
    assert b"Return-Path:" not in q and b"Delivered-To:" not in q
    assert q.startswith(b"Received: ")
    (b,) = pillory.messages("bob")
    assert head(b) == [b"Return-Path: <alice@example.test>",
                       b"Delivered-To: bob@example.test"]
    # Nothing is left behind in the spool's tmp/.
    assert list((pillory.state / "tmp").iterdir()) == []


def test_many_mailboxes_one_message(make_pillory):
    from conftest import password_hash
    p = make_pillory(start=False)
    h = password_hash()
    users = [f"u{i:03d}" for i in range(150)]
    p.passwd.write_text("".join(f"{u}@example.test:{h}\n" for u in users))
    p.start()
    body = "Subject: all\r\n\r\n" + "z" * 70 + "\r\n"
    with smtplib.SMTP("127.0.0.1", p.port, timeout=30) as s:
        s.ehlo("client.example")
        assert s.sendmail("boss@outside.test",
                          [f"{u}@example.test" for u in users], body) == {}
    for u in users:
        (m,) = p.messages(u)
        assert head(m) == [b"Return-Path: <boss@outside.test>",
                           b"Delivered-To: " + f"{u}@example.test".encode()]
        assert m.endswith(b"z" * 70 + b"\n")
    assert list((p.state / "tmp").iterdir()) == []
