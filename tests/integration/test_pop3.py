"""POP3 (issue 5; PRODUCT.md part 4) through the real daemon: RFC 1939
commands over the Maildirs the SMTP side delivers to, CAPA (RFC 2449),
STLS (RFC 2595) and POP3S, AUTH PLAIN (RFC 5034), one session per mailbox,
deletions only after QUIT, auth-fail attack records, and POP-before-SMTP
grants. Driven by real clients: Python's poplib (plain, STLS, POP3_SSL),
curl (pop3://, pop3s://), fetchmail, and raw sockets for exact bytes.

The test config trusts 127.0.0.1; a client bound to 127.0.0.2 (or .3) is a
stranger: no plaintext login without TLS, no relay without a grant."""
import base64
import json
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import PASSWORD, Client, free_port, password_hash

UNTRUSTED = "127.0.0.2"
OTHER = "127.0.0.3"
ALICE = "alice@example.test"
BOB = "bob@example.test"
WRONG = "not the password"


# ---- fixtures and helpers ---------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    d.chmod(0o755)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", "/CN=mx.example.test",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def make_pop(make_pillory, cert):
    """Factory: a daemon with [pop3] listen (p.pop3_port) and, with
    tls=True, [tls] and [pop3] pop3s (p.pop3s_port)."""
    def factory(tls=False, start=True, **extra):
        o = {"pop3__listen": f"127.0.0.1:{free_port()}"}
        if tls:
            o.update({"tls__cert": str(cert[0]), "tls__key": str(cert[1]),
                      "pop3__pop3s": f"127.0.0.1:{free_port()}"})
        o.update(extra)
        p = make_pillory(start=False, **o)
        p.pop3_port = int(o["pop3__listen"].rsplit(":", 1)[1])
        if tls:
            p.pop3s_port = int(o["pop3__pop3s"].rsplit(":", 1)[1])
        if start:
            p.start()
        return p
    return factory


@pytest.fixture
def pp(make_pop):
    return make_pop()


@pytest.fixture
def tpp(make_pop):
    return make_pop(tls=True)


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class POP3From(poplib.POP3):
    """poplib.POP3 from a chosen source address."""

    def __init__(self, host, port, source, timeout=10):
        self.source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


def pop(p, source="127.0.0.1"):
    return POP3From("127.0.0.1", p.pop3_port, source)


def raw(p, source="127.0.0.1", port=None):
    """A raw client that has read the greeting."""
    c = Client(p.connect(port=port or p.pop3_port, source=source))
    assert c.line() == "+OK pillory POP3 ready"
    return c


def multiline(c):
    lines = []
    while True:
        ln = c.line()
        if ln == ".":
            return lines
        lines.append(ln)


def deliver(p, body, rcpt=ALICE, subject="test"):
    """Send one message through SMTP from a trusted client."""
    msg = (f"From: sender@example.test\r\nTo: {rcpt}\r\n"
           f"Subject: {subject}\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=10) as s:
        s.sendmail("sender@example.test", [rcpt], msg.encode())


def delivery_order(f):
    """Maildir names are "<sec>.M<usec>P...": the microseconds are not
    zero-padded, so sort by numbers, as the server does."""
    m = re.match(r"(\d+)\.M(\d+)", f.name)
    return (int(m.group(1)), int(m.group(2)), f.name)


def stored(p, user="alice"):
    """The stored messages of a Maildir (new and cur), oldest first."""
    box = p.state / "mail" / "example.test" / user
    files = [f for sub in ("new", "cur") if (box / sub).exists()
             for f in (box / sub).iterdir()]
    files.sort(key=delivery_order)
    return [f.read_bytes() for f in files]


def box_files(p, user="alice"):
    box = p.state / "mail" / "example.test" / user
    return sorted(f.name for sub in ("new", "cur") if (box / sub).exists()
                  for f in (box / sub).iterdir())


def login(p, user=ALICE, source="127.0.0.1"):
    m = pop(p, source)
    m.user(user)
    m.pass_(PASSWORD)
    return m


def smtp_relay(p, source):
    """Try to relay from source: the RCPT reply code."""
    c = Client(p.connect(source=source))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    code, _ = c.cmd("RCPT TO:<victim@elsewhere.test>")
    c.cmd("QUIT")
    c.close()
    return code


def auth_fail_records(p):
    r = p.cli("log", "--json", "--kind", "auth-fail")
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


# ---- greeting, CAPA, line discipline -------------------------------------


def test_greeting_and_capa(pp):
    c = raw(pp)
    c.send(b"CAPA\r\n")
    assert c.line().startswith("+OK")
    caps = multiline(c)
    for cap in ("TOP", "UIDL", "USER", "SASL PLAIN", "RESP-CODES",
                "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION pillory"):
        assert cap in caps
    assert "STLS" not in caps          # no [tls] configured
    c.send(b"QUIT\r\n")
    assert c.line() == "+OK Logging out."
    assert c.closed()


def test_transaction_commands_need_login(pp):
    c = raw(pp)
    for cmd in (b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"UIDL", b"TOP 1 0",
                b"NOOP", b"RSET"):
        c.send(cmd + b"\r\n")
        assert c.line().startswith("-ERR")
    c.close()


def test_malformed_lines(pp):
    c = raw(pp)
    c.send(b"XYZZY\r\n")
    assert c.line() == "-ERR Unknown command."
    c.send(b"STAT\nNOOP\r\n")
    assert c.line().startswith("-ERR Bare CR or LF")
    c.send(b"USER \xc3\xa9@example.test\r\n")
    assert c.line().startswith("-ERR 8-bit")
    c.send(b"STAT\x00\r\n")
    assert c.line().startswith("-ERR NUL")
    c.send(b"LIST " + b"1" * 41 + b"\r\n")
    assert c.line() == "-ERR Argument too long."
    c.send(b"USER\r\n")
    assert c.line() == "-ERR Syntax: USER name"
    # Over-long line: one -ERR, its rest discarded, then business as usual.
    c.send(b"NOOP " + b"x" * 10000 + b"\r\nCAPA\r\n")
    assert c.line() == "-ERR Line too long."
    assert c.line().startswith("+OK Capability")
    multiline(c)
    c.close()


def test_error_limit_closes(pp):
    c = raw(pp)
    for _ in range(9):
        c.send(b"BOGUS\r\n")
        assert c.line() == "-ERR Unknown command."
    c.send(b"BOGUS\r\n")
    assert c.line() == "-ERR Unknown command."
    assert c.line().startswith("-ERR Too many bad commands")
    assert c.closed()


# ---- content: what SMTP delivered is what POP3 gives -----------------------


DOTTED = ("first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
          "last line\r\n")


def test_poplib_stat_list_uidl_top_retr(pp):
    deliver(pp, DOTTED, subject="one")
    deliver(pp, "short\r\n", subject="two")
    files = stored(pp)
    assert len(files) == 2
    m = login(pp)
    count, size = m.stat()
    assert count == 2
    # Sizes are with CRLF line ends (RFC 1939 11).
    wire = [len(f.replace(b"\n", b"\r\n")) for f in files]
    assert size == sum(wire)
    resp, listing, _ = m.list()
    assert resp.startswith(b"+OK 2 messages")
    assert listing == [f"{i + 1} {w}".encode() for i, w in enumerate(wire)]
    assert m.list(2) == f"+OK 2 {wire[1]}".encode()
    resp, uids, _ = m.uidl()
    uid_map = dict(u.split() for u in uids)
    assert len(set(uid_map.values())) == 2
    for u in uid_map.values():
        assert 1 <= len(u) <= 70 and all(0x21 <= c <= 0x7e for c in u)
    assert m.uidl(1).split()[2] == uid_map[b"1"]
    # RETR equals the stored file, line by line (poplib undoes stuffing).
    for n, f in enumerate(files, 1):
        resp, lines, octets = m.retr(n)
        assert resp == f"+OK {wire[n - 1]} octets".encode()
        assert lines == f.rstrip(b"\n").split(b"\n")
    body = m.retr(1)[1]
    assert b".starts with a dot" in body and b"..two dots" in body
    assert b"." in body
    # TOP: the header, the blank line, n body lines.
    head = files[0].split(b"\n\n", 1)[0].split(b"\n")
    resp, lines, _ = m.top(1, 0)
    assert lines == head + [b""]
    resp, lines, _ = m.top(1, 2)
    assert lines == head + [b"", b"first line", b".starts with a dot"]
    m.quit()
    # UIDs are stable across sessions (and the move to cur/).
    m = login(pp)
    assert dict(u.split() for u in m.uidl()[1]) == uid_map
    m.quit()


def test_pipelining(pp):
    deliver(pp, "a\r\n")
    deliver(pp, "b\r\n")
    c = raw(pp)
    c.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL\r\n"
           "RETR 1\r\nTOP 2 0\r\nNOOP\r\nQUIT\r\n".encode())
    assert c.line() == "+OK"
    assert c.line() == "+OK Logged in."
    assert c.line().startswith("+OK 2 ")
    assert c.line().startswith("+OK 2 messages")
    assert len(multiline(c)) == 2
    assert c.line() == "+OK"
    assert len(multiline(c)) == 2
    assert c.line().endswith("octets")
    assert multiline(c)[-1] == "a"
    assert c.line() == "+OK"
    multiline(c)
    assert c.line() == "+OK"
    assert c.line() == "+OK Logging out."
    assert c.closed()


def test_large_message(pp):
    # 3 MB with long and short lines: streamed, not loaded whole.
    line = "x" * 900 + "\r\n"
    body = "".join((line if i % 7 else ".dot " + line) for i in range(3500))
    deliver(pp, body)
    (f,) = stored(pp)
    m = login(pp)
    resp, lines, octets = m.retr(1)
    assert lines == f.rstrip(b"\n").split(b"\n")
    m.quit()


def test_message_numbers(pp):
    deliver(pp, "a\r\n")
    c = raw(pp)
    c.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
    assert c.line() == "+OK" and c.line() == "+OK Logged in."
    for bad in (b"RETR 0", b"RETR -1", b"RETR +1", b"RETR x", b"LIST 1x",
                b"RETR 99999999999"):
        c.send(bad + b"\r\n")
        assert c.line() == "-ERR Invalid message number."
    c.send(b"RETR 2\r\n")
    assert c.line() == "-ERR No such message."
    c.send(b"DELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\nRSET\r\nSTAT\r\n")
    assert c.line() == "+OK Message 1 deleted."
    assert c.line() == "-ERR Message 1 already deleted."
    assert c.line() == "-ERR Message 1 already deleted."
    assert c.line() == "+OK 0 0"
    assert c.line().startswith("+OK maildrop has 1 messages")
    assert c.line().startswith("+OK 1 ")
    c.send(b"TOP 1 -1\r\n")
    assert c.line() == "-ERR Invalid number of lines."
    c.close()


def test_empty_and_missing_mailbox(pp):
    m = login(pp, BOB)             # never received mail: no Maildir yet
    assert m.stat() == (0, 0)
    assert m.list()[1] == []
    assert m.uidl()[1] == []
    m.quit()


# ---- UPDATE state -------------------------------------------------------------


def test_dele_then_quit_removes(pp):
    deliver(pp, "one\r\n")
    deliver(pp, "two\r\n")
    m = login(pp)
    m.dele(1)
    assert m.stat()[0] == 1
    assert len(box_files(pp)) == 2     # nothing removed before QUIT
    assert m.quit() == b"+OK Logging out."
    assert len(stored(pp)) == 1
    assert b"two" in stored(pp)[0]
    # Kept messages moved to cur/ (Maildir), UID unchanged.
    assert all(":2," in n for n in box_files(pp))


def test_dele_then_drop_keeps(pp):
    deliver(pp, "one\r\n")
    m = login(pp)
    m.dele(1)
    m.close()                          # no QUIT
    time.sleep(0.5)
    assert len(stored(pp)) == 1
    m = login(pp)                      # and the lock is gone
    assert m.stat()[0] == 1
    m.quit()


def test_second_session_refused_in_use(pp):
    deliver(pp, "one\r\n")
    first = login(pp)
    second = pop(pp)
    second.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        second.pass_(PASSWORD)
    assert e.value.args[0] == b"-ERR [IN-USE] mailbox locked"
    first.quit()
    # After the first QUIT the mailbox is free at once.
    second.user(ALICE)
    assert second.pass_(PASSWORD) == b"+OK Logged in."
    second.quit()


# ---- authentication -------------------------------------------------------


def test_wrong_password_is_auth_fail_record(pp):
    m = pop(pp)
    m.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        m.pass_(WRONG)
    assert e.value.args[0] == b"-ERR [AUTH] Authentication failed."
    m.close()
    recs = wait_for(lambda: auth_fail_records(pp))
    assert len(recs) == 1
    assert recs[0]["client_ip"] == "127.0.0.1"
    assert recs[0]["port"] == pp.pop3_port
    assert recs[0]["user"] == ALICE
    assert "Authentication failed" in recs[0]["reply"]
    assert WRONG not in pp.log() and PASSWORD not in pp.log()


def test_three_failures_close(pp):
    c = raw(pp)
    for i in range(3):
        c.send(f"USER {ALICE}\r\nPASS {WRONG}\r\n".encode())
        assert c.line() == "+OK"
        assert c.line() == "-ERR [AUTH] Authentication failed."
    assert c.closed()


def test_pass_needs_user(pp):
    c = raw(pp)
    c.send(b"PASS x\r\n")
    assert c.line() == "-ERR No username given."
    c.close()


def test_login_name_case_and_spaces_in_password(make_pop):
    p = make_pop(start=False)
    # A password with spaces (RFC 1939 7: PASS takes the rest of the line).
    pw = "  spaced  out "
    p.passwd.write_text(f"alice@example.test:{password_hash(pw)}\n")
    p.start()
    m = pop(p)
    m.user("Alice@Example.TEST")
    assert m.pass_(pw) == b"+OK Logged in."
    m.quit()


def plain_b64(user, password, authzid=""):
    return base64.b64encode(
        f"{authzid}\0{user}\0{password}".encode()).decode()


def test_auth_plain(pp):
    c = raw(pp)
    c.send(f"AUTH PLAIN {plain_b64(ALICE, PASSWORD)}\r\n".encode())
    assert c.line() == "+OK Logged in."
    c.send(b"QUIT\r\n")
    assert c.line() == "+OK Logging out."
    c.close()
    # Without an initial response: an empty challenge, then the response.
    c = raw(pp)
    c.send(b"AUTH PLAIN\r\n")
    assert c.line() == "+ "
    c.send(plain_b64(ALICE, PASSWORD).encode() + b"\r\n")
    assert c.line() == "+OK Logged in."
    c.close()


def test_auth_plain_refusals(pp):
    c = raw(pp)
    c.send(b"AUTH PLAIN\r\n*\r\n")
    assert c.line() == "+ "
    assert c.line() == "-ERR Authentication aborted."
    c.send(b"AUTH PLAIN !!!!\r\n")
    assert c.line() == "-ERR [AUTH] Invalid PLAIN response."
    c.send(f"AUTH PLAIN {plain_b64(ALICE, PASSWORD, BOB)}\r\n".encode())
    assert c.line() == "-ERR [AUTH] Invalid PLAIN response."
    c.send(b"AUTH CRAM-MD5\r\n")
    assert c.line().startswith("-ERR [AUTH] Unsupported")
    c.send(b"APOP alice x\r\n")
    assert c.line().startswith("-ERR [AUTH] APOP not supported")
    c.send(b"AUTH\r\n")
    assert c.line() == "+OK"
    assert multiline(c) == ["PLAIN"]
    c.close()


def test_untrusted_plaintext_refused(tpp):
    c = raw(tpp, source=UNTRUSTED)
    c.send(b"CAPA\r\n")
    assert c.line().startswith("+OK")
    caps = multiline(c)
    assert "STLS" in caps and "USER" not in caps
    assert "SASL PLAIN" not in caps
    c.send(f"USER {ALICE}\r\n".encode())
    assert c.line() == ("-ERR [AUTH] Plaintext authentication disallowed "
                        "on non-secure connections")
    c.send(f"AUTH PLAIN {plain_b64(ALICE, PASSWORD)}\r\n".encode())
    assert c.line().startswith("-ERR [AUTH] Plaintext")
    c.close()


def test_allow_plaintext_key(make_pop):
    p = make_pop(pop3__allow_plaintext="yes")
    m = login(p, source=UNTRUSTED)
    assert m.stat() == (0, 0)
    m.quit()


# ---- TLS ---------------------------------------------------------------------


def test_poplib_stls(tpp):
    deliver(tpp, DOTTED)
    m = pop(tpp, UNTRUSTED)
    assert "STLS" in m.capa()
    m.stls(ctx())
    caps = m.capa()
    assert "STLS" not in caps and "USER" in caps
    m.user(ALICE)
    m.pass_(PASSWORD)
    (f,) = stored(tpp)
    assert m.retr(1)[1] == f.rstrip(b"\n").split(b"\n")
    m.quit()
    assert "tls ip=127.0.0.2" in tpp.log()


def test_stls_large_message(tpp):
    line = "y" * 700 + "\r\n"
    deliver(tpp, line * 4000)
    (f,) = stored(tpp)
    m = pop(tpp, UNTRUSTED)
    m.stls(ctx())
    m.user(ALICE)
    m.pass_(PASSWORD)
    assert m.retr(1)[1] == f.rstrip(b"\n").split(b"\n")
    m.quit()


def test_stls_injection_discarded(tpp):
    # Commands pipelined behind STLS are dropped (CVE-2011-0411).
    c = raw(tpp, source=UNTRUSTED)
    c.send(b"STLS\r\nCAPA\r\n")
    assert c.line() == "+OK Begin TLS negotiation"
    s = ctx().wrap_socket(c.sock)
    t = Client(s)
    t.send(b"NOOP\r\n")
    assert t.line() == "-ERR Not logged in."     # not a CAPA listing
    t.send(b"STLS\r\n")
    assert t.line() == "-ERR TLS already active."
    t.close()


def test_pop3s(tpp):
    deliver(tpp, "over pop3s\r\n")
    m = poplib.POP3_SSL("127.0.0.1", tpp.pop3s_port, context=ctx(),
                        timeout=10)
    assert m.getwelcome() == b"+OK pillory POP3 ready"
    assert "STLS" not in m.capa()
    m.user(ALICE)
    m.pass_(PASSWORD)
    assert m.stat()[0] == 1
    assert b"over pop3s" in m.retr(1)[1]
    m.quit()


# ---- real clients: curl and fetchmail ---------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl missing")
def test_curl_pop3(pp):
    deliver(pp, DOTTED)
    (f,) = stored(pp)
    url = f"pop3://127.0.0.1:{pp.pop3_port}/"
    r = subprocess.run(["curl", "-s", "-u", f"{ALICE}:{PASSWORD}", url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    size = len(f.replace(b"\n", b"\r\n"))
    assert r.stdout == f"1 {size}\r\n".encode()
    r = subprocess.run(["curl", "-s", "-u", f"{ALICE}:{PASSWORD}",
                        url + "1"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f.replace(b"\n", b"\r\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl missing")
def test_curl_pop3s_and_wrong_password(tpp):
    deliver(tpp, "curl over tls\r\n")
    url = f"pop3s://127.0.0.1:{tpp.pop3s_port}/1"
    r = subprocess.run(["curl", "-s", "-k", "-u", f"{ALICE}:{PASSWORD}",
                        url], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"curl over tls" in r.stdout
    r = subprocess.run(["curl", "-s", "-k", "-u", f"{ALICE}:{WRONG}", url],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    assert wait_for(lambda: auth_fail_records(tpp))


@pytest.mark.skipif(shutil.which("fetchmail") is None,
                    reason="fetchmail missing")
@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_fetchmail_pulls_mailbox(make_pop, tmp_path, mode):
    p = make_pop(tls=mode != "plain")
    deliver(p, DOTTED, subject="fm one")
    deliver(p, "second\r\n", subject="fm two")
    files = stored(p)
    out = tmp_path / "mbox"
    rc = tmp_path / "fetchmailrc"
    port = p.pop3s_port if mode == "pop3s" else p.pop3_port
    opts = {"plain": "sslproto ''", "stls": "sslproto tls1.2+ no sslcertck",
            "pop3s": "ssl no sslcertck"}[mode]
    rc.write_text(
        f'poll 127.0.0.1 with proto POP3 service {port} '
        f'auth password\n'
        f'  user "{ALICE}" there with password "{PASSWORD}" is "me" here\n'
        f'  {opts} no keep fetchall\n'
        f'  mda "/bin/sh -c \'cat >> {out}; echo >> {out}\'"\n')
    rc.chmod(0o600)
    r = subprocess.run(["fetchmail", "-f", str(rc), "-N", "--nosyslog",
                        "-i", str(tmp_path / "ids"),
                        "--pidfile", str(tmp_path / "pid")],
                       capture_output=True, text=True, timeout=60,
                       env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr
    got = out.read_bytes()
    for f in files:
        for ln in f.split(b"\n\n", 1)[1].split(b"\n"):
            assert ln in got
    assert b".starts with a dot" in got
    assert b"\n..two dots" in got
    # "no keep": fetchmail deleted them with DELE + QUIT.
    assert wait_for(lambda: stored(p) == [])


# ---- POP before SMTP ----------------------------------------------------------


def test_pop_before_smtp_grant(make_pop):
    p = make_pop(pop3__allow_plaintext="yes")
    assert smtp_relay(p, UNTRUSTED) == 554
    m = login(p, source=UNTRUSTED)
    m.quit()
    assert smtp_relay(p, UNTRUSTED) == 250
    assert smtp_relay(p, OTHER) == 554        # never for another address
    r = p.cli("grants", "list")
    assert r.returncode == 0 and UNTRUSTED in r.stdout and ALICE in r.stdout
    r = p.cli("grants", "revoke", UNTRUSTED)
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: smtp_relay(p, UNTRUSTED) == 554)


def test_failed_login_grants_nothing(make_pop):
    p = make_pop(pop3__allow_plaintext="yes")
    m = pop(p, UNTRUSTED)
    m.user(ALICE)
    with pytest.raises(poplib.error_proto):
        m.pass_(WRONG)
    m.close()
    assert smtp_relay(p, UNTRUSTED) == 554


def test_grant_expires(make_pop):
    p = make_pop(pop3__allow_plaintext="yes", relay__pop_before_smtp="2s")
    login(p, source=UNTRUSTED).quit()
    assert smtp_relay(p, UNTRUSTED) == 250
    time.sleep(3)
    assert smtp_relay(p, UNTRUSTED) == 554


# ---- more edges ----------------------------------------------------------------


def test_pipelined_retr_backpressure(pp):
    # Many big responses asked for at once, read only afterwards: the
    # server produces them as the socket takes them, in order.
    line = "z" * 500 + "\r\n"
    deliver(pp, line * 1000)
    (f,) = stored(pp)
    want = f.rstrip(b"\n").split(b"\n")
    c = raw(pp)
    c.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode()
           + b"RETR 1\r\nLIST\r\n" * 20 + b"QUIT\r\n")
    time.sleep(1)                      # let the server fill the pipe
    assert c.line() == "+OK" and c.line() == "+OK Logged in."
    for _ in range(20):
        assert c.line().endswith(" octets")
        assert [x.encode() for x in multiline(c)] == want
        assert c.line().startswith("+OK 1 messages")
        assert len(multiline(c)) == 1
    assert c.line() == "+OK Logging out."
    assert c.closed()


def test_overlong_sasl_response(pp):
    c = raw(pp)
    c.send(b"AUTH PLAIN\r\n")
    assert c.line() == "+ "
    c.send(b"A" * 5000 + b"\r\nCAPA\r\n")
    assert c.line() == "-ERR Line too long."
    # The AUTH failed; the next line is a command again.
    assert c.line().startswith("+OK Capability")
    c.close()


def test_message_removed_behind_our_back(pp):
    deliver(pp, "gone soon\r\n")
    m = login(pp)
    for sub in ("new", "cur"):
        d = pp.state / "mail" / "example.test" / "alice" / sub
        for f in d.iterdir():
            f.unlink()
    with pytest.raises(poplib.error_proto) as e:
        m.retr(1)
    assert e.value.args[0].startswith(b"-ERR [SYS/TEMP]")
    m.dele(1)
    assert m.quit() == b"+OK Logging out."


def test_repeated_failures_block_the_address(make_pop):
    p = make_pop(pop3__allow_plaintext="yes")

    def fail_once():
        m = pop(p, UNTRUSTED)
        m.user(ALICE)
        try:
            m.pass_(WRONG)
        except poplib.error_proto as e:
            return e.args[0]
        finally:
            m.close()
        return b"+OK?"

    for _ in range(3):
        assert fail_once() == b"-ERR [AUTH] Authentication failed."
    results = []
    th = [threading.Thread(target=lambda: results.append(fail_once()))
          for _ in range(7)]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    assert results == [b"-ERR [AUTH] Authentication failed."] * 7
    # Blocked now: even the right password, and the session ends.
    c = raw(p, source=UNTRUSTED)
    c.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
    assert c.line() == "+OK"
    assert c.line() == "-ERR [SYS/TEMP] too many failures, try later"
    assert c.closed()
    # Alice still gets in from elsewhere.
    login(p, source=OTHER).quit()
    assert len(wait_for(lambda: len(auth_fail_records(p)) >= 10 and
                        auth_fail_records(p))) == 10


def test_large_listing(pp):
    # 5000 messages put straight into the Maildir (as another delivery
    # agent would): LIST and UIDL come out whole, in delivery order.
    new = pp.state / "mail" / "example.test" / "alice" / "new"
    new.mkdir(parents=True)
    n = 5000
    for i in range(n):
        (new / f"1700000000.M{i}P1_x{i}.host,S=2,W=3").write_bytes(b"a\n")
    (new / "1699999999.other-agent.host").write_bytes(b"b\nc\n")
    m = login(pp)
    assert m.stat() == (n + 1, 3 * n + 6)
    resp, listing, _ = m.list()
    assert listing[0] == b"1 6"
    assert listing[1:] == [f"{i + 2} 3".encode() for i in range(n)]
    resp, uids, _ = m.uidl()
    assert uids[0] == b"1 1699999999.other-agent.host"
    assert uids[1:] == [f"{i + 2} 1700000000.M{i}P1_x{i}.host,S=2,W=3"
                        .encode() for i in range(n)]
    m.quit()
