"""Session limits through the real daemon: connections per address and in
total (421 4.7.0), the command and DATA timeouts of RFC 5321 4.5.3.2
(421 4.4.2), and greet_pause against clients that talk first."""
import time

from conftest import Client


def greeted(p, source="127.0.0.1", port=None):
    c = Client(p.connect(port=port, source=source))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def refused_421(p, source="127.0.0.1", port=None):
    c = Client(p.connect(port=port, source=source))
    code, lines = c.reply()
    assert code == 421, (code, lines)
    assert lines[0].startswith("4.7.0"), lines
    assert c.closed(), "connection left open after 421"
    c.close()
    return lines


def quit_and_wait(c):
    assert c.cmd("QUIT")[0] == 221
    assert c.closed()
    c.close()


def test_max_connections_per_ip(make_pillory):
    p = make_pillory(**{"smtp__max_connections_per_ip": "2"})
    a = greeted(p)
    b = greeted(p)
    lines = refused_421(p)
    assert "too many connections from your address" in lines[0]
    # Another address is not affected.
    other = greeted(p, source="127.0.0.2")
    # The refused attempt did not take a slot: still exactly two.
    refused_421(p)
    # A slot frees up after QUIT ...
    quit_and_wait(a)
    c = greeted(p)
    refused_421(p)
    # ... and after the client just hangs up.
    b.close()
    c.close()
    d = None
    for _ in range(100):    # the server sees the EOF asynchronously
        x = Client(p.connect())
        code, _ = x.reply()
        if code == 220:
            d = x
            break
        assert code == 421
        x.close()
        time.sleep(0.02)
    assert d is not None, "slots not released after the clients hung up"
    e = greeted(p)
    refused_421(p)
    for x in (d, e, other):
        quit_and_wait(x)
    assert p.log().count("too many connections from it") >= 4


def test_max_connections_per_ip_counts_proxied_address(make_pillory):
    """On the PROXY listener the limit applies to the proxied client, not
    to the load balancer's address."""
    from conftest import proxy_v1
    p = make_pillory(**{"smtp__max_connections_per_ip": "1"})

    def via_proxy(src):
        c = Client(p.connect(port=p.proxy_port))
        c.send(proxy_v1(src))
        return c

    a = via_proxy("203.0.113.7")
    assert a.reply()[0] == 220
    b = via_proxy("203.0.113.8")     # same real address, other client
    assert b.reply()[0] == 220
    c = via_proxy("203.0.113.7")
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("4.7.0"), (code, lines)
    assert c.closed()
    for x in (a, b):
        quit_and_wait(x)


def test_max_connections_total(make_pillory):
    p = make_pillory(**{"smtp__max_connections": "2"})
    a = greeted(p, source="127.0.0.1")
    b = greeted(p, source="127.0.0.2")
    lines = refused_421(p, source="127.0.0.3")
    assert "too many connections" in lines[0]
    # Counted over all listeners: the PROXY port is full too.
    c = Client(p.connect(port=p.proxy_port, source="127.0.0.4"))
    code, lines = c.reply()
    assert code == 421, (code, lines)
    assert c.closed()
    quit_and_wait(a)
    d = greeted(p, source="127.0.0.3")
    refused_421(p, source="127.0.0.5")
    quit_and_wait(b)
    quit_and_wait(d)


def test_command_timeout(make_pillory):
    p = make_pillory(**{"smtp__command_timeout": "1s"})
    c = greeted(p)
    assert c.cmd("EHLO c.example")[0] == 250
    t0 = time.monotonic()
    c.sock.settimeout(10)
    code, lines = c.reply()
    elapsed = time.monotonic() - t0
    assert code == 421, (code, lines)
    assert lines[0].startswith("4.4.2"), lines
    assert 0.8 <= elapsed < 5, elapsed
    assert c.closed()


def test_command_timeout_on_partial_line(make_pillory):
    """A client that stops in the middle of a command line times out the
    same way (no reply to the fragment)."""
    p = make_pillory(**{"smtp__command_timeout": "1s"})
    c = greeted(p)
    c.send(b"EHLO half-a-comm")
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("4.4.2"), (code, lines)
    assert c.closed()


def test_activity_keeps_session_alive(make_pillory):
    """The timeout is per command, not per session: a client sending a
    NOOP every 0.4 s for 2.5 s keeps its session."""
    p = make_pillory(**{"smtp__command_timeout": "1s"})
    c = greeted(p)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        assert c.cmd("NOOP")[0] == 250
        time.sleep(0.4)
    quit_and_wait(c)


def test_data_timeout(make_pillory):
    p = make_pillory(**{"smtp__data_timeout": "1s",
                        "smtp__command_timeout": "30s"})
    c = greeted(p)
    assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: never finished\r\n\r\nhalf a message\r\n")
    t0 = time.monotonic()
    code, lines = c.reply()
    elapsed = time.monotonic() - t0
    assert code == 421, (code, lines)
    assert lines[0].startswith("4.4.2"), lines
    assert 0.8 <= elapsed < 5, elapsed
    assert c.closed()
    assert p.messages("alice") == []
    tmp = p.state / "tmp"
    assert list(tmp.iterdir()) == [], "partial message left in tmp/"


def test_data_timeout_is_not_the_command_timeout(make_pillory):
    """Back in command state after DATA, command_timeout applies again."""
    p = make_pillory(**{"smtp__data_timeout": "1s",
                        "smtp__command_timeout": "3s"})
    c = greeted(p)
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<a@outside.test>")
    c.cmd("RCPT TO:<alice@example.test>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: quick\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    time.sleep(1.5)                  # longer than data_timeout
    assert c.cmd("NOOP")[0] == 250   # still alive
    quit_and_wait(c)
    assert len(p.messages("alice")) == 1


def test_greet_pause_early_talker(make_pillory):
    p = make_pillory(**{"smtp__greet_pause": "1s"})
    c = Client(p.connect(source="127.0.0.2"))
    c.send(b"EHLO spam-engine.example\r\n")
    t0 = time.monotonic()
    code, lines = c.reply()
    assert code == 554, (code, lines)
    assert lines[0].startswith("5.5.1"), lines
    assert time.monotonic() - t0 < 5
    assert c.closed()
    assert "early talker ip=127.0.0.2" in p.log()


def test_greet_pause_patient_client(make_pillory):
    p = make_pillory(**{"smtp__greet_pause": "1s"})
    t0 = time.monotonic()
    c = Client(p.connect())
    code, lines = c.reply()
    elapsed = time.monotonic() - t0
    assert code == 220, (code, lines)
    assert 0.8 <= elapsed < 5, elapsed
    assert c.cmd("EHLO c.example")[0] == 250
    quit_and_wait(c)
    assert "early talker" not in p.log()


def test_greet_pause_early_talker_even_with_bare_bytes(make_pillory):
    """Any octet before the greeting counts, even a lone CR."""
    p = make_pillory(**{"smtp__greet_pause": "1s"})
    c = Client(p.connect())
    c.send(b"\r")
    code, lines = c.reply()
    assert code == 554 and lines[0].startswith("5.5.1"), (code, lines)
    assert c.closed()
