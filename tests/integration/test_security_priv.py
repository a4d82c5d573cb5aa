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


# ---- SIGHUP re-reads root-only files on the root side -----------------------


def hup_and_wait(p, text, timeout=10):
    """Send SIGHUP and wait for text in the log lines written after it."""
    start = len(p.log())
    p.proc.send_signal(signal.SIGHUP)
    assert wait_log(p, text, timeout, start), p.log()[start:]
    return p.log()[start:]


@pytest.fixture
def nobody_tls(make_tls, private_top, certs, tmp_path):
    """A daemon running as nobody whose config, passwd-file, aliases and
    TLS key are root-only (mode 0600) in a directory nobody cannot reach."""
    keydir = tmp_path / "keys"
    keydir.mkdir(mode=0o700)
    cert, key = keydir / "cert.pem", keydir / "key.pem"
    shutil.copy(certs[0][0], cert)
    shutil.copy(certs[0][1], key)
    pop3s = free_port()
    p = make_tls(start=False, cert=(cert, key), server__user="nobody",
                 server__state_dir=str(private_top / "var"),
                 pop3__pop3s=f"127.0.0.1:{pop3s}")
    p.cert, p.key, p.pop3s_port = cert, key, pop3s
    p.write_config()
    for f in (p.passwd, p.aliases, p.conf, key):
        os.chmod(f, 0o600)
    # start() writes the config again: keep it root-only.
    p.write_config = lambda: None
    p.start()
    assert Path(f"/proc/{p.proc.pid}/status").read_text().find(
        f"Uid:\t{pwd.getpwnam('nobody').pw_uid}") != -1
    return p


@needs_root
def test_hup_root_only_passwd_file_takes_effect(nobody_tls):
    p = nobody_tls
    h = run(["passwd"], input="dave's password\n", check=True).stdout.strip()
    assert try_login(p, "alice@example.test") == 235
    assert try_login(p, "dave@example.test", "dave's password") == 535
    text = [ln for ln in p.passwd.read_text().splitlines()
            if not ln.startswith("alice@")]
    text.append(f"dave@example.test:{h}")
    p.passwd.write_text("\n".join(text) + "\n")
    assert oct(p.passwd.stat().st_mode & 0o777) == "0o600"
    log = hup_and_wait(p, "reloaded")
    assert "Permission denied" not in log, log
    # At once: no retry loop.
    assert try_login(p, "alice@example.test") == 535
    assert try_login(p, "dave@example.test", "dave's password") == 235
    # The engine knows the new user list too: mail for dave is accepted,
    # mail for alice is not.
    c = Client(p.connect())
    assert c.reply()[0] == 220
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<someone@outside.test>")
    assert c.cmd("RCPT TO:<dave@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 550
    c.close()
    assert p.proc.poll() is None


@needs_root
def test_hup_root_only_aliases_and_config(nobody_tls):
    p = nobody_tls
    c = Client(p.connect())
    assert c.reply()[0] == 220
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<someone@outside.test>")
    assert c.cmd("RCPT TO:<sales@example.test>")[0] == 550
    c.close()
    p.aliases.write_text(p.aliases.read_text() + "sales: bob@example.test\n")
    # A new local domain in the root-only config.
    text = p.conf.read_text().replace(
        "domains = example.test, gabacho-net.jp",
        "domains = example.test, gabacho-net.jp, new.example.test")
    assert text != p.conf.read_text()
    p.conf.write_text(text)
    hup_and_wait(p, "reloaded")
    c = Client(p.connect())
    assert c.reply()[0] == 220
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<someone@outside.test>")
    assert c.cmd("RCPT TO:<sales@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<sales@new.example.test>")[0] == 250
    c.close()


@needs_root
def test_hup_broken_passwd_file_keeps_users(nobody_tls):
    p = nobody_tls
    good = p.passwd.read_text()
    p.passwd.write_text(good + "this line is broken\n")
    log = hup_and_wait(p, "keeping the running config")
    assert str(p.passwd) in log, log
    assert try_login(p, "alice@example.test") == 235
    # A fixed file is taken at the next HUP.
    p.passwd.write_text(good.replace("alice@", "alicia@"))
    hup_and_wait(p, "reloaded")
    assert try_login(p, "alice@example.test") == 535
    assert try_login(p, "alicia@example.test") == 235


# ---- SIGHUP reloads the TLS certificate ------------------------------------


@needs_root
def test_hup_reloads_certificate(nobody_tls, certs):
    p = nobody_tls
    old, new = pem_fingerprint(certs[0][0]), pem_fingerprint(certs[1][0])
    assert served_fingerprint(p.smtps_port) == old
    assert served_fingerprint(p.pop3s_port) == old
    assert starttls_fingerprint(p.port) == old
    # A session in TLS across the reload keeps working.
    m = submission(p)
    # Renewal: new files written over the old paths.
    shutil.copy(certs[1][0], p.cert)
    shutil.copy(certs[1][1], p.key)
    hup_and_wait(p, f"certificate {p.cert} loaded")
    assert served_fingerprint(p.smtps_port) == new
    assert served_fingerprint(p.pop3s_port) == new
    assert starttls_fingerprint(p.port) == new
    assert starttls_fingerprint(p.sub_port) == new
    assert m.noop()[0] == 250
    assert m.mail("alice@example.test")[0] == 250
    m.close()
    # A broken certificate: the new one stays, an error is logged.
    p.cert.write_text("-----BEGIN CERTIFICATE-----\nbroken\n"
                      "-----END CERTIFICATE-----\n")
    log = hup_and_wait(p, "keeping the certificate loaded before")
    assert str(p.cert) in log, log
    assert p.proc.poll() is None
    assert served_fingerprint(p.smtps_port) == new
    assert starttls_fingerprint(p.port) == new
    assert try_login(p, "alice@example.test") == 235


@needs_root
@pytest.mark.parametrize("breakage", ["key-mismatch", "key-missing",
                                      "garbage-key", "empty-cert"])
def test_hup_broken_tls_files_keep_old(nobody_tls, certs, breakage):
    p = nobody_tls
    old = pem_fingerprint(certs[0][0])
    if breakage == "key-mismatch":
        shutil.copy(certs[1][0], p.cert)      # new cert, old key
    elif breakage == "key-missing":
        p.key.unlink()
    elif breakage == "garbage-key":
        p.key.write_text("not a key\n")
    else:
        p.cert.write_text("")
    log = hup_and_wait(p, "keeping the certificate loaded before")
    assert "[tls]" in log, log
    assert p.proc.poll() is None
    assert served_fingerprint(p.smtps_port) == old
    assert starttls_fingerprint(p.port) == old
    # The rest of the reload still happened.
    assert "reloaded" in p.log()


# ---- the admin's commands, run as root, follow no link under state_dir -----


@needs_root
def test_root_publish_refuses_symlinked_publish_dir(make_pillory,
                                                    private_top):
    state = private_top / "var"
    state.mkdir()
    target = private_top / "rootdir"
    target.mkdir(mode=0o700)
    (state / "public").symlink_to(target)
    p = make_pillory(start=False, server__state_dir=str(state))
    p.write_config()
    r = p.cli("publish")
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "symbolic link" in r.stderr, r.stderr
    assert list(target.iterdir()) == []
    assert target.stat().st_uid == 0


@needs_root
def test_root_log_refuses_symlinked_attack_db(make_pillory, private_top):
    state = private_top / "var"
    state.mkdir()
    victim = private_top / "victim.db"
    victim.write_bytes(b"")
    (state / "attacklog.db").symlink_to(victim)
    p = make_pillory(start=False, server__state_dir=str(state))
    p.write_config()
    r = p.cli("log")
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "symbolic link" in r.stderr, r.stderr
    assert victim.read_bytes() == b""
    assert not (private_top / "victim.db-journal").exists()
    assert not (private_top / "victim.db-wal").exists()


@needs_root
def test_root_queue_does_not_talk_through_a_linked_socket(make_pillory,
                                                          private_top):
    """`pillory queue flush` as root refuses a control socket that is a link
    (to some other service's socket): nothing is sent there."""
    state = private_top / "var"
    state.mkdir()
    other = private_top / "other.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(other))
    srv.listen(4)
    srv.settimeout(0.5)
    p = make_pillory(start=False, server__state_dir=str(state))
    p.write_config()
    (state / "control.sock").symlink_to(other)
    try:
        r = p.cli("queue", "flush")
        assert r.returncode != 0, (r.stdout, r.stderr)
        assert "symbolic links" in r.stderr, r.stderr
        with pytest.raises(socket.timeout):
            conn, _ = srv.accept()
            conn.close()
    finally:
        srv.close()
