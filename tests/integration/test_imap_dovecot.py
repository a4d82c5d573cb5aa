"""IMAP through Dovecot over pillory's Maildirs and passwd-file (README
"IMAP with Dovecot"): a private Dovecot instance (dovecot -c FILE, own
base_dir and log_path, imap on a loopback high port) logs in with the
passwd-file pillory uses, lists and reads a message pillory delivered
(Dovecot's S=/W= sizes in the file names are pillory's), and its
imap-login lines, fed to `pillory import --follow`, open relay for the
client's address as a POP3 login does."""
import imaplib
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, PASSWORD, SAN_ENV, free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
CLIENT = "127.0.0.9"

pytestmark = pytest.mark.skipif(
    not os.access(DOVECOT, os.X_OK) or
    not os.path.exists("/usr/lib/dovecot/imap"),
    reason="Dovecot IMAP (packages dovecot-core, dovecot-imapd) is needed")


def user_ids():
    for name in ("dovecot", "dovenull", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            pytest.skip(f"no {name} user (dovecot-core creates it)")
    nb = pwd.getpwnam("nobody")
    return nb.pw_uid, nb.pw_gid


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Dovecot:
    def __init__(self, d: Path, state: Path, passwd: Path, uid, gid):
        self.dir, self.port = d, free_port()
        self.conf, self.log = d / "dovecot.conf", d / "dovecot.log"
        self.conf.write_text(f"""# private test instance
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{state}/mail/%d/%n
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={state}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
        # The master forks into the background: its output goes to a
        # file, not to pipes that would stay open.
        with open(d / "control.log", "ab") as out:
            r = subprocess.run([DOVECOT, "-c", str(self.conf)], stdout=out,
                               stderr=out, stdin=subprocess.DEVNULL,
                               timeout=30)
        assert r.returncode == 0, ((d / "control.log").read_text() +
                                   self.log_text())
        wait_for(self.answers, 15, "Dovecot's IMAP port")

    def answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        pidfile = self.dir / "run" / "master.pid"
        try:
            pid = int(pidfile.read_text())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 20,
                 "Dovecot to stop")


class IMAPFrom(imaplib.IMAP4):
    """imaplib from a chosen loopback source address."""

    def __init__(self, host, port, source):
        self.source = source
        super().__init__(host, port, timeout=20)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


@pytest.fixture
def setup(make_pillory):
    uid, gid = user_ids()
    # Dovecot's mail processes run as an unprivileged user (it refuses
    # root): the state directory must be reachable by it, as
    # /var/lib/pillory is for the user pillory.
    top = Path(tempfile.mkdtemp(prefix="pillory-imap-"))
    top.chmod(0o755)
    p = make_pillory(start=False, **{"server__state_dir": str(top / "var")})
    # One passwd-file for both, readable by Dovecot's auth process (user
    # dovecot) and root only.
    shared = top / "passwd"
    shutil.copy(p.passwd, shared)
    os.chown(shared, 0, pwd.getpwnam("dovecot").pw_gid)
    shared.chmod(0o640)
    p.passwd = shared
    p.sections["users"]["passwd_file"] = str(shared)
    p.start()
    dc = None

    def start_dovecot():
        nonlocal dc
        d = p.dir / "dovecot"
        d.mkdir()
        dc = Dovecot(d, top / "var", p.passwd, uid, gid)
        return dc

    yield p, start_dovecot, top, uid, gid
    if dc is not None:
        dc.stop()
    shutil.rmtree(top, ignore_errors=True)


def test_dovecot_reads_what_pillory_delivered(setup):
    p, start_dovecot, top, uid, gid = setup
    msg = (b"From: <someone@outside.test>\r\nTo: <alice@example.test>\r\n"
           b"Subject: via IMAP\r\nMessage-ID: <imap-1@outside.test>\r\n\r\n"
           b"Read me over IMAP.\r\n")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20) as s:
        assert s.sendmail("someone@outside.test", ["alice@example.test"],
                          msg) == {}
    new = top / "var/mail/example.test/alice/new"
    wait_for(lambda: new.exists() and any(new.iterdir()), what="delivery")
    name = next(new.iterdir()).name
    assert ",S=" in name and ",W=" in name, name
    # The mail user owns the Maildirs (here pillory ran as root; in
    # production both run as the user pillory).
    os.chown(top / "var/mail", uid, gid)
    for dirpath, dirs, files in os.walk(top / "var/mail"):
        for x in dirs + files:
            os.chown(os.path.join(dirpath, x), uid, gid)
    dc = start_dovecot()
    im = IMAPFrom("127.0.0.1", dc.port, CLIENT)
    try:
        assert im.login("alice@example.test", PASSWORD)[0] == "OK"
        typ, data = im.select("INBOX")
        assert typ == "OK" and data[0] == b"1", data
        typ, data = im.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        body = data[0][1]
        assert b"Subject: via IMAP" in body
        assert b"Read me over IMAP." in body
        assert body.startswith(b"Return-Path: <someone@outside.test>")
        # The size Dovecot reports is the W= size pillory wrote.
        w = int(name.split(",W=")[1].split(",")[0].split(":")[0])
        assert f"RFC822.SIZE {w}".encode() in data[0][0], data[0][0]
        assert len(body) == w
        typ, data = im.search(None, "SUBJECT", '"via IMAP"')
        assert data[0] == b"1"
        im.logout()
    finally:
        try:
            im.shutdown()
        except OSError:
            pass
    # A wrong password is refused by the same passwd-file.
    im = IMAPFrom("127.0.0.1", dc.port, CLIENT)
    with pytest.raises(imaplib.IMAP4.error):
        im.login("alice@example.test", "wrong password")
    im.shutdown()
    assert "imap-login: Info: Login: user=<alice@example.test>" in \
        dc.log_text()


def relay_reply(p):
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20,
                      source_address=(CLIENT, 0)) as s:
        s.ehlo("laptop.example.test")
        s.mail("alice@example.test")
        return s.rcpt("friend@remote.test")


def test_imap_login_opens_relay_through_import(setup):
    p, start_dovecot, top, uid, gid = setup
    (top / "var/mail").mkdir(exist_ok=True)
    dc = start_dovecot()
    code, _ = relay_reply(p)
    assert code == 554          # not yet: no login from there
    e = dict(os.environ)
    e.update(SAN_ENV)
    imp = subprocess.Popen([BIN, "-c", str(p.conf), "import", "--format",
                            "dovecot", "--follow", str(dc.log)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=e)
    try:
        time.sleep(0.5)
        im = IMAPFrom("127.0.0.1", dc.port, CLIENT)
        assert im.login("alice@example.test", PASSWORD)[0] == "OK"
        im.logout()
        wait_for(lambda: CLIENT in p.cli("grants").stdout, 20,
                 "the grant from the IMAP login")
        assert "alice@example.test" in p.cli("grants").stdout
        code, text = relay_reply(p)
        assert code == 250, text
        assert imp.poll() is None
    finally:
        imp.send_signal(signal.SIGTERM)
        try:
            imp.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            imp.kill()
            imp.communicate()
    assert "relay ip=127.0.0.9" in p.log() and "pop-before-smtp" in p.log()
