"""TLS, STARTTLS and SMTP AUTH through the real daemon (issue 4; PRODUCT.md
part 1): STARTTLS on the MX port and on submission (587), implicit TLS on
smtps (465), AUTH PLAIN/LOGIN only inside TLS, checked by a separate auth
process. Driven by real clients: swaks (--tls, --tlsc, --auth PLAIN/LOGIN),
Python's smtplib, `openssl s_client -starttls smtp`, msmtp as a mail client,
and raw sockets for the exact-byte cases (the STARTTLS command injection,
CVE-2011-0411).

The test config trusts 127.0.0.1; a client bound to 127.0.0.2 (or .3) is a
stranger: it may relay only after AUTH, never because of TLS alone."""
import base64
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import PASSWORD, Client, free_port, run

UNTRUSTED = "127.0.0.2"
OTHER = "127.0.0.3"
WRONG = "not the password"


# ---- fixtures and helpers ---------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate and key, once per module."""
    d = tmp_path_factory.mktemp("tls")
    d.chmod(0o755)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", "/CN=mx.example.test",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


def tls_overrides(cert, **extra):
    sub, smtps = free_port(), free_port()
    o = {"tls__cert": str(cert[0]), "tls__key": str(cert[1]),
         "smtp__submission": f"127.0.0.1:{sub}",
         "smtp__smtps": f"127.0.0.1:{smtps}"}
    o.update(extra)
    return o, sub, smtps


@pytest.fixture
def make_tls(make_pillory, cert):
    """Factory: a daemon with [tls], submission and smtps; the ports are
    p.sub_port and p.smtps_port."""
    def factory(start=True, **extra):
        o, sub, smtps = tls_overrides(cert, **extra)
        p = make_pillory(start=False, **o)
        p.sub_port, p.smtps_port = sub, smtps
        if start:
            p.start()
        return p
    return factory


@pytest.fixture
def tp(make_tls):
    return make_tls()


def client_ctx(maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def b64(s):
    return base64.b64encode(s.encode()).decode()


def plain(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def greet(p, port=None, source=UNTRUSTED):
    c = Client(p.connect(port=port, source=source))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    return c


def ehlo(c, name="client.example"):
    code, lines = c.cmd(f"EHLO {name}")
    assert code == 250, (code, lines)
    return [ln.upper() for ln in lines]


def starttls(c, maximum=None):
    """STARTTLS on a raw Client; wraps its socket; EHLO must be sent
    again by the caller."""
    code, lines = c.cmd("STARTTLS")
    assert code == 220, (code, lines)
    assert c.buf == b"", c.buf
    c.sock = client_ctx(maximum).wrap_socket(c.sock)
    return c


def tls_session(p, port=None, source=UNTRUSTED, maximum=None):
    """Greeting, EHLO, STARTTLS, EHLO again."""
    c = greet(p, port, source)
    ehlo(c)
    starttls(c, maximum)
    ehlo(c)
    return c


def smtps_session(p, source=UNTRUSTED):
    s = socket.create_connection(("127.0.0.1", p.smtps_port), timeout=10,
                                 source_address=(source, 0))
    c = Client(client_ctx().wrap_socket(s))
    code, lines = c.reply()
    assert code == 220, (code, lines)
    ehlo(c)
    return c


def auth_plain(c, user, password):
    return c.cmd(f"AUTH PLAIN {plain(user, password)}")


def login_ok(c, user="alice@example.test"):
    code, lines = auth_plain(c, user, PASSWORD)
    assert code == 235, (code, lines)
    assert lines[0].startswith("2.7.0"), lines


def queued_rcpts(p):
    """Recipients of every complete queue entry (queue/*.env)."""
    q = p.state / "queue"
    out = []
    if q.exists():
        for env in sorted(q.glob("*.env")):
            for ln in env.read_text().splitlines():
                if ln.startswith("rcpt "):
                    out.append(ln[5:].strip())
    return out


def wait_queued(p, rcpt, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if rcpt in queued_rcpts(p):
            return True
        time.sleep(0.05)
    return False


def attack_records(p, kind):
    r = p.cli("log", "--json", "--kind", kind)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]


def wait_records(p, kind, pred, timeout=8):
    deadline = time.time() + timeout
    recs = []
    while time.time() < deadline:
        recs = [r for r in attack_records(p, kind) if pred(r)]
        if recs:
            return recs
        time.sleep(0.2)
    return recs


def message(sender, rcpt, subject="tls auth test"):
    return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time_ns()}@client.example>\r\n\r\n"
            f"hello through TLS\r\n")


def swaks(p, port, *args, source=UNTRUSTED, sender="alice@example.test",
          rcpt="x@remote.test"):
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{port}", "--local-interface",
         source, "--helo", "swaks.example", "--from", sender, "--to", rcpt,
         "--timeout", "15", *args],
        capture_output=True, text=True, timeout=60)


def children(pid):
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(set(kids))


# ---- EHLO and AUTH before/after TLS ----------------------------------------


@pytest.mark.parametrize("where", ["mx", "submission"])
def test_auth_not_offered_before_starttls(tp, where):
    port = tp.port if where == "mx" else tp.sub_port
    c = greet(tp, port)
    caps = ehlo(c)
    assert "STARTTLS" in caps, caps
    assert not any(x.startswith("AUTH") for x in caps), caps
    code, lines = auth_plain(c, "alice@example.test", PASSWORD)
    assert code == 538, (code, lines)
    assert lines[0].startswith("5.7.11"), lines
    code, lines = c.cmd("AUTH LOGIN")
    assert code == 538, (code, lines)
    c.close()


def test_auth_not_offered_in_clear_even_to_trusted(tp):
    """trusted_plaintext_auth defaults to no: 127.0.0.1 gets no AUTH in
    the clear either."""
    c = greet(tp, source="127.0.0.1")
    caps = ehlo(c)
    assert not any(x.startswith("AUTH") for x in caps), caps
    assert auth_plain(c, "alice@example.test", PASSWORD)[0] == 538
    c.close()


def test_trusted_plaintext_auth_is_for_trusted_only(make_tls):
    p = make_tls(smtp__trusted_plaintext_auth="yes")
    c = greet(p, source="127.0.0.1")
    assert "AUTH PLAIN LOGIN" in ehlo(c)
    login_ok(c)
    c.close()
    c = greet(p, source=UNTRUSTED)
    caps = ehlo(c)
    assert not any(x.startswith("AUTH") for x in caps), caps
    assert auth_plain(c, "alice@example.test", PASSWORD)[0] == 538
    c.close()


@pytest.mark.parametrize("where", ["mx", "submission"])
def test_after_starttls_auth_offered_starttls_not(tp, where):
    port = tp.port if where == "mx" else tp.sub_port
    c = greet(tp, port)
    ehlo(c)
    starttls(c)
    # The session restarted: a MAIL before the new EHLO is out of order.
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 503
    caps = ehlo(c)
    assert "AUTH PLAIN LOGIN" in caps, caps
    assert "STARTTLS" not in caps, caps
    code, _ = c.cmd("STARTTLS")
    assert code == 503
    login_ok(c)
    c.close()


def test_smtps_offers_auth_not_starttls(tp):
    c = smtps_session(tp)
    caps = c.cmd("EHLO again.example")[1]
    assert "AUTH PLAIN LOGIN" in caps, caps
    assert "STARTTLS" not in caps, caps
    login_ok(c)
    c.close()


def test_auth_login_dialogue_and_abort(tp):
    c = tls_session(tp)
    code, lines = c.cmd("AUTH LOGIN")
    assert (code, lines) == (334, ["VXNlcm5hbWU6"])
    code, lines = c.cmd("*")
    assert code == 501, (code, lines)
    assert c.cmd("AUTH LOGIN " + b64("alice@example.test")) == \
        (334, ["UGFzc3dvcmQ6"])
    code, lines = c.cmd(b64(PASSWORD))
    assert code == 235, (code, lines)
    code, _ = c.cmd("AUTH PLAIN " + plain("alice@example.test", PASSWORD))
    assert code == 503   # already authenticated
    c.close()


def test_auth_plain_without_initial_response(tp):
    c = tls_session(tp)
    assert c.cmd("AUTH PLAIN")[0] == 334
    code, _ = c.cmd(plain("bob@example.test", PASSWORD))
    assert code == 235
    c.close()


def test_plain_authzid_of_someone_else_is_refused(tp):
    """authzid "bob", authcid alice with alice's password: never bob."""
    c = tls_session(tp)
    code, lines = c.cmd("AUTH PLAIN " + plain("alice@example.test", PASSWORD,
                                              authzid="bob@example.test"))
    if code == 235:
        # Accepted at most as alice: she still may not send as bob.
        assert c.cmd("MAIL FROM:<bob@example.test>")[0] == 553
    else:
        assert code in (501, 535), (code, lines)
    c.close()


@pytest.mark.parametrize("where", ["mx", "submission", "smtps"])
def test_quit_inside_tls_gets_221(tp, where):
    """The last reply of a TLS session reaches the client, and the daemon
    survives the session's end (every real client below ends with QUIT)."""
    if where == "smtps":
        c = smtps_session(tp)
    else:
        c = tls_session(tp, port=tp.port if where == "mx" else tp.sub_port)
    code, lines = c.cmd("QUIT")
    assert code == 221, (code, lines)
    assert c.closed()
    c.close()
    time.sleep(0.2)
    assert tp.proc.poll() is None, tp.log()[-3000:]
    # The daemon still serves.
    c = tls_session(tp)
    assert c.cmd("NOOP")[0] == 250
    c.close()


# ---- real clients: swaks, smtplib, openssl, msmtp ---------------------------


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("where", ["mx", "submission"])
def test_swaks_starttls_auth_relays(tp, mech, where):
    port = tp.port if where == "mx" else tp.sub_port
    rcpt = f"x-{mech.lower()}-{where}@remote.test"
    r = swaks(tp, port, "--tls", "--auth", mech, "--auth-user",
              "alice@example.test", "--auth-password", PASSWORD, rcpt=rcpt)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout, r.stdout
    assert wait_queued(tp, rcpt), (queued_rcpts(tp), tp.log()[-2000:])


def test_swaks_without_auth_cannot_relay(tp):
    """The positive case's control: same swaks, no --auth."""
    r = swaks(tp, tp.port, "--tls")
    assert r.returncode != 0
    assert "554 5.7.1" in r.stdout, r.stdout
    assert queued_rcpts(tp) == []


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_implicit_tls_smtps(tp, mech):
    r = swaks(tp, tp.smtps_port, "--tlsc", "--auth", mech, "--auth-user",
              "bob@example.test", "--auth-password", PASSWORD,
              sender="bob@example.test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_queued(tp, "x@remote.test"), queued_rcpts(tp)


def test_swaks_wrong_password_fails(tp):
    r = swaks(tp, tp.sub_port, "--tls", "--auth", "PLAIN", "--auth-user",
              "alice@example.test", "--auth-password", WRONG)
    assert r.returncode != 0
    assert "535 5.7.8" in r.stdout, r.stdout
    assert queued_rcpts(tp) == []


def test_smtplib_starttls_login(tp):
    with smtplib.SMTP("127.0.0.1", tp.sub_port, timeout=15,
                      source_address=(UNTRUSTED, 0)) as s:
        s.ehlo("py.example")
        assert not s.has_extn("auth")
        s.starttls(context=client_ctx())
        s.ehlo("py.example")
        assert s.has_extn("auth")
        assert "PLAIN" in s.esmtp_features["auth"].upper()
        s.login("carol@gabacho-net.jp", PASSWORD)
        refused = s.sendmail("carol@gabacho-net.jp", ["y@remote.test"],
                             message("carol@gabacho-net.jp", "y@remote.test"))
        assert refused == {}
    assert wait_queued(tp, "y@remote.test"), queued_rcpts(tp)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_smtplib_smtps_login(tp, mech):
    with smtplib.SMTP_SSL("127.0.0.1", tp.smtps_port, timeout=15,
                          source_address=(UNTRUSTED, 0),
                          context=client_ctx()) as s:
        s.ehlo("py.example")
        s.user, s.password = "alice@example.test", PASSWORD
        code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                            initial_response_ok=(mech == "PLAIN"))
        assert code == 235, resp
        s.sendmail("alice@example.test", ["z@remote.test"],
                   message("alice@example.test", "z@remote.test"))
    assert wait_queued(tp, "z@remote.test"), queued_rcpts(tp)


def test_smtplib_wrong_password(tp):
    with smtplib.SMTP_SSL("127.0.0.1", tp.smtps_port, timeout=15,
                          source_address=(UNTRUSTED, 0),
                          context=client_ctx()) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.test", WRONG)
        assert e.value.smtp_code == 535


def s_client(port, *extra, data=b"QUIT\r\n"):
    return subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect",
         f"127.0.0.1:{port}", "-brief", *extra],
        input=data, capture_output=True, timeout=30)


@pytest.mark.parametrize("where", ["mx", "submission"])
def test_openssl_s_client_starttls(tp, where):
    port = tp.port if where == "mx" else tp.sub_port
    r = s_client(port)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    assert "CONNECTION ESTABLISHED" in err, err
    assert "Protocol version: TLSv1.3" in err, err
    r = s_client(port, "-tls1_2")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    assert "Protocol version: TLSv1.2" in err, err
    m = re.search(r"Ciphersuite: (\S+)", err)
    assert m and m.group(1).startswith("ECDHE-"), err


def test_openssl_s_client_tls11_refused(tp, cert):
    """TLS 1.0/1.1 are refused. The client is told it may use 1.1 at
    security level 0; a control server proves it then can."""
    lax = ("-cipher", "DEFAULT@SECLEVEL=0")
    ctl_port = free_port()
    srv = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{ctl_port}",
         "-cert", str(cert[0]), "-key", str(cert[1]), "-tls1_1",
         "-cipher", "DEFAULT@SECLEVEL=0", "-naccept", "1", "-quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        ok = None
        for _ in range(50):
            r = subprocess.run(
                ["openssl", "s_client", "-connect", f"127.0.0.1:{ctl_port}",
                 "-brief", "-tls1_1", *lax],
                input=b"", capture_output=True, timeout=30)
            ok = r.stderr.decode(errors="replace")
            if "Protocol version" in ok or "refused" not in ok:
                break
            time.sleep(0.1)
        control = "Protocol version: TLSv1.1" in ok
    finally:
        srv.kill()
        srv.wait()
    for port in (tp.port, tp.sub_port):
        for flag in ("-tls1_1", "-tls1"):
            r = s_client(port, flag, *lax)
            err = r.stderr.decode(errors="replace")
            assert r.returncode != 0, err
            assert "CONNECTION ESTABLISHED" not in err, err
    if not control:
        pytest.skip("this openssl cannot speak TLS 1.1 at all: " + ok[-300:])


def msmtp(tmp_path, p, port, starttls_on, mech, rcpt, user="alice@example.test",
          password=PASSWORD):
    conf = tmp_path / f"msmtprc.{port}.{mech}"
    conf.write_text(
        "defaults\n"
        f"logfile {tmp_path}/msmtp.log\n"
        "account test\n"
        "host 127.0.0.1\n"
        f"port {port}\n"
        f"source_ip {UNTRUSTED}\n"
        "domain msmtp.example\n"
        f"from {user}\n"
        f"auth {mech}\n"
        f"user {user}\n"
        f"password {password}\n"
        "tls on\n"
        f"tls_starttls {'on' if starttls_on else 'off'}\n"
        "tls_certcheck off\n"
        "timeout 15\n"
        "account default : test\n")
    conf.chmod(0o600)
    assert shutil.which("msmtp"), "msmtp is not installed (apt-get install msmtp)"
    return subprocess.run(
        ["msmtp", "-C", str(conf), "-a", "test", rcpt],
        input=message(user, rcpt).encode(), capture_output=True, timeout=60)


@pytest.mark.parametrize("mech", ["plain", "login"])
def test_msmtp_submission_starttls(tp, tmp_path, mech):
    rcpt = f"msmtp-{mech}@remote.test"
    r = msmtp(tmp_path, tp, tp.sub_port, True, mech, rcpt)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert wait_queued(tp, rcpt), queued_rcpts(tp)


@pytest.mark.parametrize("mech", ["plain", "login"])
def test_msmtp_smtps(tp, tmp_path, mech):
    rcpt = f"msmtps-{mech}@remote.test"
    r = msmtp(tmp_path, tp, tp.smtps_port, False, mech, rcpt)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert wait_queued(tp, rcpt), queued_rcpts(tp)


def test_msmtp_wrong_password(tp, tmp_path):
    r = msmtp(tmp_path, tp, tp.smtps_port, False, "plain", "w@remote.test",
              password=WRONG)
    assert r.returncode != 0
    assert b"535" in r.stderr, r.stderr
    assert queued_rcpts(tp) == []


# ---- submission rules --------------------------------------------------------


@pytest.mark.parametrize("source", [UNTRUSTED, "127.0.0.1"])
def test_submission_requires_auth(tp, source):
    """Even a trusted network must log in on 587 and 465."""
    c = greet(tp, tp.sub_port, source)
    ehlo(c)
    code, lines = c.cmd("MAIL FROM:<alice@example.test>")
    assert code == 530, (code, lines)
    assert lines[0] == "5.7.0 Must issue a STARTTLS command first", lines
    starttls(c)
    ehlo(c)
    code, lines = c.cmd("MAIL FROM:<alice@example.test>")
    assert code == 530, (code, lines)
    assert lines[0].startswith("5.7.0"), lines
    login_ok(c)
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    c.close()
    c = smtps_session(tp, source)
    code, lines = c.cmd("MAIL FROM:<alice@example.test>")
    assert code == 530, (code, lines)
    assert lines[0].startswith("5.7.0"), lines
    c.close()
    assert queued_rcpts(tp) == []


def test_mx_port_auth_optional(tp):
    """On the MX port mail for local users needs no AUTH, with or without
    TLS."""
    c = tls_session(tp)
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(message("someone@outside.test", "bob@example.test").encode()
           + b".\r\n")
    assert c.reply()[0] == 250
    c.close()
    assert len(tp.messages("bob")) == 1


def test_wrong_password_535_and_auth_fail_record(tp):
    c = tls_session(tp, port=tp.sub_port)
    code, lines = auth_plain(c, "alice@example.test", WRONG)
    assert code == 535, (code, lines)
    assert lines[0].startswith("5.7.8"), lines
    # LOGIN, unknown user: the same answer (no user enumeration).
    assert c.cmd("AUTH LOGIN " + b64("nobody@example.test"))[0] == 334
    code, lines = c.cmd(b64(PASSWORD))
    assert code == 535, (code, lines)
    # Still unauthenticated.
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 530
    c.close()
    recs = wait_records(tp, "auth-fail",
                        lambda r: "alice@example.test" in json.dumps(r))
    assert recs, (attack_records(tp, "auth-fail"), tp.log()[-2000:])
    assert recs[0]["client_ip"] == UNTRUSTED
    assert recs[0]["kind"] == "auth-fail"
    assert recs[0]["user"] == "alice@example.test", recs[0]
    assert recs[0]["port"] == tp.sub_port, recs[0]
    # Kept for the admin, never published: --mask hides the login.
    masked = tp.cli("log", "--json", "--mask", "--kind", "auth-fail")
    assert masked.returncode == 0, masked.stderr
    assert masked.stdout.strip(), masked
    assert "alice@example.test" not in masked.stdout, masked.stdout
    assert "nobody@example.test" not in masked.stdout, masked.stdout
    assert wait_records(tp, "auth-fail",
                        lambda r: "nobody@example.test" in json.dumps(r))
    # Secrets are never logged.
    everything = tp.log() + p_log_all(tp)
    assert WRONG not in everything
    assert PASSWORD not in everything


def p_log_all(p):
    r = p.cli("log", "--json")
    return r.stdout + r.stderr


def test_good_login_is_no_attack(tp):
    c = tls_session(tp)
    login_ok(c)
    c.cmd("QUIT")
    c.close()
    time.sleep(1.5)
    assert attack_records(tp, "auth-fail") == []


def test_sender_must_belong_to_the_login(tp):
    c = tls_session(tp, port=tp.sub_port)
    login_ok(c, "alice@example.test")
    code, lines = c.cmd("MAIL FROM:<bob@example.test>")
    assert code == 553, (code, lines)
    assert lines[0].startswith("5.7.1"), lines
    for ok in ("alice@example.test", "Alice@Example.TEST",
               "info@example.test",      # info -> alice, bob
               "abuse@example.test",     # bare "abuse" -> alice
               "abuse@gabacho-net.jp"):  # ... in every local domain
        code, lines = c.cmd(f"MAIL FROM:<{ok}>")
        assert code == 250, (ok, code, lines)
        assert c.cmd("RSET")[0] == 250
    for bad in ("carol@gabacho-net.jp", "fwd@example.test",
                "alice@remote.test", "alice@gabacho-net.jp",
                "postmaster@example.test"):
        code, lines = c.cmd(f"MAIL FROM:<{bad}>")
        assert code == 553, (bad, code, lines)
    # Her own address relays.
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<friend@remote.test>")[0] == 250
    c.close()


def test_alias_owner_is_per_user(tp):
    """carol is not behind info@example.test."""
    c = smtps_session(tp)
    login_ok(c, "carol@gabacho-net.jp")
    assert c.cmd("MAIL FROM:<info@example.test>")[0] == 553
    assert c.cmd("MAIL FROM:<carol@gabacho-net.jp>")[0] == 250
    c.close()


# ---- STARTTLS command injection (CVE-2011-0411) ----------------------------


@pytest.mark.parametrize("where", ["mx", "submission"])
@pytest.mark.parametrize("tail", [b"RSET\r\n",
                                  b"MAIL FROM:<alice@example.test>\r\n"],
                         ids=["rset", "mail"])
def test_starttls_injection_discarded(tp, where, tail):
    port = tp.port if where == "mx" else tp.sub_port
    s = tp.connect(port=port, source=UNTRUSTED)
    c = Client(s)
    assert c.reply()[0] == 220
    ehlo(c)
    s.sendall(b"STARTTLS\r\n" + tail)        # one packet
    # Exactly the 220 in the clear, nothing behind it.
    code, lines = c.reply()
    assert code == 220, (code, lines)
    s.settimeout(0.5)
    try:
        extra = s.recv(4096)
    except socket.timeout:
        extra = b""
    assert extra == b"" and c.buf == b"", (extra, c.buf)
    s.settimeout(10)
    tls = client_ctx().wrap_socket(s)
    tls.settimeout(1.0)
    try:
        got = tls.recv(4096)
    except (socket.timeout, TimeoutError):
        got = None
    except ssl.SSLError as e:
        got = repr(e).encode()
    assert got is None, f"reply to injected command: {got!r}"
    tls.settimeout(10)
    c = Client(tls)
    caps = ehlo(c)
    assert "AUTH PLAIN LOGIN" in caps
    # The injected MAIL did not open a transaction either.
    code, lines = c.cmd("RCPT TO:<alice@example.test>")
    assert code == 503, (code, lines)
    c.close()


# ---- TLS alone is no relay licence ----------------------------------------


@pytest.mark.parametrize("sender", ["x@outside.test", "alice@example.test"])
def test_tls_alone_is_no_relay_licence(tp, sender):
    c = tls_session(tp)
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@remote.test>")
    assert code == 554, (code, lines)
    assert lines[0].startswith("5.7.1"), lines
    assert c.cmd("DATA")[0] in (503, 554)
    c.close()
    c = smtps_session(tp)
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 530
    c.close()
    assert queued_rcpts(tp) == []


# ---- Received header --------------------------------------------------------


def first_received(raw: bytes):
    text = raw.replace(b"\r\n", b"\n").decode(errors="replace")
    head = text.split("\n\n", 1)[0]
    unfolded = re.sub(r"\n[ \t]+", " ", head)
    for ln in unfolded.split("\n"):
        if ln.lower().startswith("received:"):
            return ln
    raise AssertionError("no Received header: " + head)


def send_as_bob(p, maximum=None):
    c = tls_session(p, port=p.sub_port, maximum=maximum)
    login_ok(c, "bob@example.test")
    assert c.cmd("MAIL FROM:<bob@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(message("bob@example.test", "alice@example.test").encode()
           + b".\r\n")
    code, lines = c.reply()
    assert code == 250, (code, lines)
    c.close()
    msgs = p.messages("alice")
    assert len(msgs) == 1
    return first_received(msgs[0])


def test_received_header_esmtpsa_tls13(tp):
    rcv = send_as_bob(tp)
    assert "with ESMTPSA" in rcv, rcv
    assert re.search(r"\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+\)", rcv), rcv
    assert "bob" not in rcv.lower(), rcv
    # ... and the log names protocol and cipher.
    assert re.search(r" tls ip=127\.0\.0\.2 TLSv1\.3 TLS_[A-Z0-9_]+", tp.log()), \
        tp.log()[-2000:]


def test_received_header_tls12(tp):
    rcv = send_as_bob(tp, maximum=ssl.TLSVersion.TLSv1_2)
    assert re.search(r"\(using TLSv1\.2 with cipher ECDHE-[A-Z0-9-]+\)",
                     rcv), rcv
    assert "with ESMTPSA" in rcv, rcv


def test_received_header_names_login_when_configured(make_tls):
    p = make_tls(smtp__received_auth_user="yes")
    rcv = send_as_bob(p)
    assert "bob@example.test" in rcv, rcv
    assert "with ESMTPSA" in rcv, rcv


def test_received_header_plain_unauthenticated(tp):
    """Controls: TLS without AUTH is ESMTPS; neither is ESMTP."""
    for use_tls, proto in ((True, "ESMTPS"), (False, "ESMTP")):
        c = tls_session(tp) if use_tls else greet(tp)
        if not use_tls:
            ehlo(c)
        assert c.cmd("MAIL FROM:<x@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<carol@gabacho-net.jp>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message("x@outside.test", "carol@gabacho-net.jp").encode()
               + b".\r\n")
        assert c.reply()[0] == 250
        c.close()
    msgs = tp.messages("carol", "gabacho-net.jp")
    assert len(msgs) == 2
    protos = sorted(re.search(r" with (ESMTP\S*)", first_received(m)).group(1)
                    for m in msgs)
    assert protos == ["ESMTP", "ESMTPS"], protos
    assert "(using TLSv1.3" in "".join(first_received(m) for m in msgs)


# ---- throttling repeated failures ------------------------------------------


def failed_auth(p, source=UNTRUSTED, password=WRONG):
    """One wrong AUTH on a fresh smtps connection: (code, seconds)."""
    c = smtps_session(p, source)
    c.sock.settimeout(30)
    t0 = time.monotonic()
    code, lines = auth_plain(c, "alice@example.test", password)
    dt = time.monotonic() - t0
    c.close()
    return code, dt


def test_repeated_failures_slow_down_then_block(tp):
    times = []
    for _ in range(4):
        code, dt = failed_auth(tp)
        assert code == 535
        times.append(dt)
    assert times[0] < 0.9 and times[1] < 0.9, times
    assert times[3] >= 0.9, f"no slow-down after 4 failures: {times}"
    # Failures 5..10 in parallel: each waits its own delay.
    results = []

    def one():
        results.append(failed_auth(tp))
    th = [threading.Thread(target=one) for _ in range(6)]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    assert [r[0] for r in results] == [535] * 6, results
    # Now even the right password is refused from this address.
    c = smtps_session(tp, UNTRUSTED)
    code, lines = auth_plain(c, "alice@example.test", PASSWORD)
    assert code == 421, (code, lines)
    assert lines[0].startswith("4.7.0"), lines
    assert c.closed()
    # ... but alice still gets in from elsewhere.
    c = smtps_session(tp, OTHER)
    login_ok(c)
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<x@remote.test>")[0] == 250
    c.close()
    # A new attempt from the blocked address is refused before hashing.
    c = tls_session(tp, source=UNTRUSTED)
    assert c.cmd("AUTH LOGIN")[0] == 421
    c.close()


def test_successful_logins_are_not_throttled(tp):
    for _ in range(12):
        c = smtps_session(tp)
        t0 = time.monotonic()
        login_ok(c)
        assert time.monotonic() - t0 < 0.9
        c.close()


# ---- the auth process --------------------------------------------------------


def test_auth_process_death_stops_daemon(tp):
    pid = tp.proc.pid
    deadline = time.time() + 5
    kids = []
    while not kids and time.time() < deadline:
        kids = children(pid)
        time.sleep(0.05)
    assert len(kids) == 1, f"expected one child (auth), got {kids}"
    # A session waiting at the right moment.
    c = tls_session(tp, port=tp.sub_port)
    try:
        os.kill(kids[0], signal.SIGKILL)
        try:
            rc = tp.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        # Whatever happened to the open session, it did not get in.
        try:
            c.sock.settimeout(3)
            code, _ = auth_plain(c, "alice@example.test", PASSWORD)
            assert code != 235, "logged in without an auth process"
        except (EOFError, OSError, ssl.SSLError):
            pass
        assert rc is not None, "daemon still running 10 s after auth died"
        assert rc != 0, f"exit {rc}"
        assert "auth process died" in tp.log(), tp.log()[-2000:]
        for port in (tp.port, tp.sub_port, tp.smtps_port):
            with pytest.raises(ConnectionRefusedError):
                tp.connect(port=port, source=UNTRUSTED)
    finally:
        c.close()
        if tp.proc.poll() is None:
            tp.proc.kill()
            tp.proc.wait()
        tp.log_fp.close()
    tp.assert_clean()


def test_sigterm_stops_auth_process_too(tp):
    kids = children(tp.proc.pid)
    assert len(kids) == 1, kids
    assert tp.stop() == 0
    for _ in range(100):
        if not Path(f"/proc/{kids[0]}").exists():
            break
        stat = Path(f"/proc/{kids[0]}/stat").read_text()
        if stat.split(") ")[-1].startswith("Z"):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"auth process {kids[0]} outlived the daemon")


def test_sighup_rereads_passwd_file(tp):
    h = run(["passwd"], input="a brand new password\n", check=True)
    text = tp.passwd.read_text().splitlines()
    text = [f"alice@example.test:{h.stdout.strip()}" if ln.startswith(
        "alice@") else ln for ln in text]
    tp.passwd.write_text("\n".join(text) + "\n")
    tp.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        c = smtps_session(tp, OTHER)
        code, _ = auth_plain(c, "alice@example.test", "a brand new password")
        c.close()
        if code == 235:
            break
        time.sleep(0.2)
    assert code == 235
    c = smtps_session(tp, OTHER)
    assert auth_plain(c, "alice@example.test", PASSWORD)[0] == 535
    c.close()


# ---- start-up errors and password schemes ------------------------------------


@pytest.mark.parametrize("which", ["cert", "key", "garbage-key"])
def test_missing_tls_file_is_startup_error(make_tls, tmp_path, which):
    missing = str(tmp_path / f"no-such-{which}.pem")
    if which == "garbage-key":
        Path(missing).write_text("this is not a PEM key\n")
        which = "key"
    p = make_tls(start=False, **{f"tls__{which}": missing})
    p.write_config()
    r = run(["-c", str(p.conf), "serve"])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert missing in r.stderr, r.stderr
    assert "AddressSanitizer" not in r.stderr


@pytest.mark.parametrize("scheme", ["SHA512-CRYPT", "SHA256-CRYPT",
                                    "BLF-CRYPT", "YESCRYPT"])
def test_passwd_scheme_logs_in(make_tls, scheme):
    pw = f"secret for {scheme}"
    r = run(["passwd", "--scheme", scheme], input=pw + "\n")
    assert r.returncode == 0, r.stderr
    h = r.stdout.strip()
    assert h.startswith("{" + scheme + "}"), h
    p = make_tls(start=False)
    p.passwd.write_text(f"alice@example.test:{h}\n")
    p.start()
    c = smtps_session(p)
    assert auth_plain(c, "alice@example.test", pw + "x")[0] == 535
    c.close()
    c = smtps_session(p, OTHER)
    code, lines = auth_plain(c, "alice@example.test", pw)
    assert code == 235, (scheme, code, lines, p.log()[-1500:])
    c.close()
