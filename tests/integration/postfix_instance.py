"""A private Postfix instance for the Postfix companion tests: its own
config directory, queue and data directories under a temp dir, loopback
only, a high port, XCLIENT allowed from loopback (so a test plays any
client address), maillog_file in the temp dir, and the pillory policy
service in smtpd_relay_restrictions. Never touches /etc/postfix or port 25;
every command is `postfix -c DIR`."""
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"


def available():
    return os.path.exists(POSTFIX) and os.geteuid() == 0


def private_dir():
    """A temp dir Postfix's own user can enter (pytest's are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="pillory-postfix-"))
    d.chmod(0o755)
    return d


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MASTER_CF = """\
{port}      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(self, tmp: Path, policy=None, domain="gabacho-net.jp",
                 relay_restrictions=None):
        self.dir = tmp
        self.conf = tmp / "etc"
        self.queue = tmp / "queue"
        self.data = tmp / "data"
        self.maillog = tmp / "maillog"
        self.port = _free_port()
        self.domain = domain
        for d in (self.conf, self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o755)
        if relay_restrictions is None:
            relay_restrictions = (
                "permit_mynetworks, permit_sasl_authenticated, "
                "permit_auth_destination, " +
                (f"check_policy_service {{ {policy}, timeout=10s, "
                 "default_action=DUNNO }, " if policy else "") +
                "reject_unauth_destination")
        main = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.gabacho-net.jp",
            "mydomain": domain,
            "mydestination": f"{domain}, example.test",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mynetworks_style": "host",
            "smtpd_authorized_xclient_hosts": "127.0.0.0/8",
            "smtpd_relay_restrictions": relay_restrictions,
            "smtpd_recipient_restrictions": "",
            "smtpd_policy_service_timeout": "10s",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(tmp),
            "smtputf8_enable": "no",
            "biff": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "local_transport": "discard:",
            "default_transport": "discard:",
            "relay_transport": "discard:",
            "smtpd_banner": "$myhostname ESMTP",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_junk_command_limit": "100000",
            "default_process_limit": "100",
            "smtpd_peername_lookup": "no",
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ "
                                  "LANG=C",
        }
        (self.conf / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in main.items()))
        (self.conf / "master.cf").write_text(
            MASTER_CF.format(port=f"127.0.0.1:{self.port}"))

    def postfix(self, *args, check=True):
        return subprocess.run([POSTFIX, "-c", str(self.conf)] + list(args),
                              capture_output=True, text=True, check=check,
                              timeout=60)

    def start(self):
        self.postfix("set-permissions", check=False)
        self.postfix("start")
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix did not listen: " + self.log())

    def stop(self):
        self.postfix("stop", check=False)
        # master exits after its children; wait for the pid file to go.
        pid = self.queue / "pid" / "master.pid"
        deadline = time.time() + 20
        while pid.exists() and time.time() < deadline:
            time.sleep(0.1)

    def log_path(self):
        return self.maillog

    def log(self):
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.port, timeout=20)

    def xclient_session(self, addr, name="[UNAVAILABLE]", helo="x"):
        """An SMTP session that Postfix believes comes from addr (XCLIENT
        ADDR/NAME/HELO; Postfix then greets again)."""
        s = self.smtp()
        s.ehlo("test.client")
        code, msg = s.docmd(f"XCLIENT ADDR={addr} NAME={name} HELO={helo}")
        assert code == 220, (code, msg)
        s.ehlo_resp = None
        s.docmd(f"EHLO {helo}")
        return s

    def wait_log(self, text, timeout=10, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.log().count(text) >= count:
                return self.log()
            time.sleep(0.05)
        raise AssertionError(f"{text!r} x{count} not in maillog: "
                             + self.log()[-3000:])
