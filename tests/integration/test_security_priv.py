"""Privileges and files, through the real daemon: sender ownership after
AUTH (an alias owns an address only in the local domains), no symbolic
link followed as root under state_dir, root-only files re-read on SIGHUP
by the side that stays root, and the TLS certificate reloaded on SIGHUP
(the old one kept when the new files are broken).

Clients: smtplib and raw sockets for SMTP, Python's ssl module for the
served certificate. The daemon runs as `user = nobody` where privileges
matter (the tests run as root)."""
import hashlib
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PASSWORD, Client, free_port, run

UNTRUSTED = "127.0.0.2"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


# ---- helpers ----------------------------------------------------------------


def make_cert(d: Path, cn: str):
    """A self-signed certificate and key for cn, in d; returns paths."""
    cert, key = d / f"{cn}.crt", d / f"{cn}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "2", "-subj", f"/CN={cn}", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    return make_cert(d, "old.example.test"), make_cert(d, "new.example.test")


def pem_fingerprint(cert: Path):
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return hashlib.sha256(der).hexdigest()


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def served_fingerprint(port):
    """SHA-256 of the certificate served on an implicit-TLS port."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with client_ctx().wrap_socket(s) as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def starttls_fingerprint(port):
    """SHA-256 of the certificate served after STARTTLS."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as m:
        m.starttls(context=client_ctx())
        return hashlib.sha256(
            m.sock.getpeercert(binary_form=True)).hexdigest()


def submission(p, user="alice@example.test", password=PASSWORD):
    """A logged-in smtplib session on p's submission port, from a client
    outside the trusted networks."""
    m = smtplib.SMTP("127.0.0.1", p.sub_port, timeout=10,
                     source_address=(UNTRUSTED, 0))
    m.ehlo("client.example")
    m.starttls(context=client_ctx())
    m.ehlo("client.example")
    m.login(user, password)
    return m


def try_login(p, user, password=PASSWORD):
    """The reply code to AUTH (235 or 535), on a fresh connection."""
    with smtplib.SMTP_SSL("127.0.0.1", p.smtps_port, timeout=10,
                          source_address=(UNTRUSTED, 0),
                          context=client_ctx()) as m:
        m.ehlo("client.example")
        try:
            m.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code
        return 235


def wait_log(p, text, timeout=10, start=0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in p.log()[start:]:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def make_tls(make_pillory, certs):
    """Factory: a daemon with [tls], submission and smtps; ports are
    p.sub_port and p.smtps_port. cert/key default to the "old" pair."""
    def factory(start=True, cert=None, **extra):
        cert = cert or certs[0]
        sub, smtps = free_port(), free_port()
        o = {"tls__cert": str(cert[0]), "tls__key": str(cert[1]),
             "smtp__submission": f"127.0.0.1:{sub}",
             "smtp__smtps": f"127.0.0.1:{smtps}"}
        o.update(extra)
        p = make_pillory(start=False, **o)
        p.sub_port, p.smtps_port = sub, smtps
        if start:
            p.start()
        return p
    return factory


@pytest.fixture
def private_top():
    """A directory nobody can reach (0755), removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix="pillory-secpriv-"))
    top.chmod(0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


# ---- sender ownership -------------------------------------------------------


def test_alias_never_owns_a_foreign_domain(make_tls):
    """'postmaster: alice' makes alice postmaster of our domains only."""
    p = make_tls(start=False)
    p.aliases.write_text(
        "postmaster: alice@example.test\n"
        "sales@example.test: alice\n")
    p.start()
    m = submission(p)
    try:
        for foreign in ("postmaster@gmail.com", "sales@paypal.com",
                        "postmaster@example.test.evil.test",
                        "alice@gmail.com"):
            code, text = m.mail(foreign)
            assert code == 553, (foreign, code, text)
            assert text.startswith(b"5.7.1"), (foreign, text)
            assert b"not owned" in text, text
            m.rset()
        for own in ("alice@example.test", "postmaster@example.test",
                    "postmaster@gabacho-net.jp", "sales@example.test"):
            code, text = m.mail(own)
            assert code == 250, (own, code, text)
            m.rset()
        # bob is not behind postmaster.
        code, _ = m.mail("bob@example.test")
        assert code == 553
    finally:
        m.close()
    mb = submission(p, "bob@example.test")
    try:
        assert mb.mail("postmaster@example.test")[0] == 553
        assert mb.mail("postmaster@gmail.com")[0] == 553
    finally:
        mb.close()


def test_foreign_postmaster_cannot_relay(make_tls):
    """The reported attack: AUTH as alice, MAIL FROM:<postmaster@gmail.com>,
    RCPT to a remote domain: nothing is queued."""
    p = make_tls(start=False)
    p.aliases.write_text("postmaster: alice@example.test\n")
    p.start()
    m = submission(p)
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            m.sendmail("postmaster@gmail.com", ["victim@remote.test"],
                       b"Subject: x\r\n\r\nspam\r\n")
        assert e.value.smtp_code == 553
    finally:
        m.close()
    q = p.state / "queue"
    assert not any(q.glob("*.env")), list(q.iterdir())


# ---- no symbolic links followed as root under state_dir ---------------------


@needs_root
@pytest.mark.parametrize("sub", ["queue", "tmp", "mail"])
def test_planted_symlink_refuses_start(make_pillory, private_top, sub):
    state = private_top / "var"
    state.mkdir()
    target = private_top / "precious"
    target.mkdir()
    os.chmod(target, 0o700)
    (target / "secret").write_text("root's\n")
    (state / sub).symlink_to(target)
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(state))
    p.write_config()
    r = run(["-c", str(p.conf), "serve"])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert f"{state}/{sub}" in r.stderr, r.stderr
    assert "symbolic link" in r.stderr, r.stderr
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (0, 0), st
    assert (target / "secret").stat().st_uid == 0
    assert os.path.islink(state / sub)
    assert "AddressSanitizer" not in r.stderr


@needs_root
def test_dangling_symlink_refuses_start(make_pillory, private_top):
    """A link to a path that does not exist yet: not created through it."""
    state = private_top / "var"
    state.mkdir()
    (state / "queue").symlink_to(private_top / "made-by-root")
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(state))
    p.write_config()
    r = run(["-c", str(p.conf), "serve"])
    assert r.returncode == 1, r.stderr
    assert f"{state}/queue" in r.stderr, r.stderr
    assert not (private_top / "made-by-root").exists()


@needs_root
def test_state_dir_itself_a_symlink_refuses_start(make_pillory, private_top):
    target = private_top / "elsewhere"
    target.mkdir()
    os.chmod(target, 0o700)
    state = private_top / "var"
    state.symlink_to(target)
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(state))
    p.write_config()
    r = run(["-c", str(p.conf), "serve"])
    assert r.returncode == 1, r.stderr
    assert str(state) in r.stderr and "symbolic link" in r.stderr, r.stderr
    assert target.stat().st_uid == 0


@needs_root
def test_file_where_directory_expected_refuses_start(make_pillory,
                                                     private_top):
    state = private_top / "var"
    state.mkdir()
    (state / "mail").write_text("not a directory\n")
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(state))
    p.write_config()
    r = run(["-c", str(p.conf), "serve"])
    assert r.returncode == 1, r.stderr
    assert f"{state}/mail is not a directory" in r.stderr, r.stderr
    assert (state / "mail").stat().st_uid == 0


@needs_root
def test_real_directories_are_handed_to_the_user(make_pillory, private_top):
    """The refusal is for links only: real folders still change owner."""
    nobody = pwd.getpwnam("nobody")
    state = private_top / "var"
    state.mkdir()
    (state / "queue").mkdir()
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(state))
    p.start()
    for sub in ("", "tmp", "queue", "mail"):
        assert (state / sub).stat().st_uid == nobody.pw_uid, sub
    assert p.stop() == 0
