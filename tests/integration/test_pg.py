"""Several MX hosts on one PostgreSQL store: a real PostgreSQL server
(initdb/pg_ctl from Debian's postgresql package) in a temporary directory
on a free loopback port, and two real daemons against it."""
import json
import os
import poplib
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PASSWORD, Client, free_port, proxy_v1, run

PGBIN = Path("/usr/lib/postgresql/15/bin")
UNTRUSTED = "127.0.0.2"
OTHER = "127.0.0.3"
ALICE = "alice@example.test"

pytestmark = pytest.mark.skipif(not (PGBIN / "initdb").exists(),
                                reason="postgresql is not installed")


def as_pg(args, **kw):
    """Run a PostgreSQL tool as the postgres user when we are root."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          **kw)


class PgServer:
    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.sock = base / "sock"
        self.port = free_port()
        self.log = base / "pg.log"

    def init(self):
        self.base.mkdir(parents=True, exist_ok=True)
        self.sock.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        r = as_pg([str(PGBIN / "initdb"), "-D", str(self.data), "-A",
                   "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        assert r.returncode == 0, r.stderr

    def start(self):
        r = as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l",
                   str(self.log), "-w", "-t", "30", "-o",
                   f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.sock} -c fsync=off",
                   "start"])
        assert r.returncode == 0, r.stdout + r.stderr + self.logtext()

    def stop(self):
        as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
               "-w", "stop"])

    def logtext(self):
        try:
            return self.log.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""

    def psql(self, db, sql):
        r = as_pg(["psql", "-h", str(self.sock), "-p", str(self.port), "-U",
                   "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt",
                   "-c", sql])
        assert r.returncode == 0, r.stderr
        return r.stdout

    def createdb(self, name):
        self.psql("postgres", f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def pg():
    # Not under pytest's 0700 base: the postgres user must reach it.
    base = Path(tempfile.mkdtemp(prefix="pillory-pg-"))
    base.chmod(0o755)
    s = PgServer(base / "srv")
    try:
        s.init()
        s.start()
        yield s
    finally:
        s.stop()
        shutil.rmtree(base, ignore_errors=True)


_n = [0]


@pytest.fixture
def db(pg):
    _n[0] += 1
    return pg.createdb(f"t{os.getpid()}_{_n[0]}")


@pytest.fixture
def hosts(make_pillory, db):
    """Two daemons, mx-a and mx-b, sharing db; both with POP3."""
    def make(node):
        o = {"store__url": db, "store__node": node,
             "pop3__listen": f"127.0.0.1:{free_port()}",
             "pop3__allow_plaintext": "yes",
             # Floods here test the store, not automatic bans.
             "defense__ban_after": "0", "publish__delay": "0s"}
        p = make_pillory(start=False, **o)
        p.pop3_port = int(o["pop3__listen"].rsplit(":", 1)[1])
        p.start()
        return p
    return make("mx-a"), make("mx-b")


def smtp_relay(p, source):
    c = Client(p.connect(source=source))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    code, _ = c.cmd("RCPT TO:<victim@elsewhere.test>")
    c.cmd("QUIT")
    c.close()
    return code


def proxied_relay(p, src, n):
    """n relay attempts from src through the PROXY listener, five per
    session (a session is closed after a few refusals)."""
    for s in range(0, n, 5):
        c = Client(p.connect(port=p.proxy_port))
        c.send(proxy_v1(src, sport=40000 + s))
        assert c.reply()[0] == 220
        assert c.cmd("EHLO flood.test")[0] == 250
        for i in range(s, min(n, s + 5)):
            assert c.cmd(f"MAIL FROM:<x{i}@outside.test>")[0] == 250
            assert c.cmd(f"RCPT TO:<v{i}@elsewhere.test>")[0] == 554
            assert c.cmd("RSET")[0] == 250
        c.cmd("QUIT")
        c.close()


def records(p, *args):
    r = p.cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def test_one_log_from_two_hosts(hosts):
    a, b = hosts
    proxied_relay(a, "198.51.100.7", 3)
    proxied_relay(b, "198.51.100.7", 2)
    proxied_relay(b, "203.0.113.9", 1)
    # Either host reads the one log; each record names its node.
    for p in (a, b):
        recs = wait_for(lambda: len(records(p)) == 6 and records(p))
        assert recs, records(p)
        nodes = sorted(r["node"] for r in recs)
        assert nodes == ["mx-a"] * 3 + ["mx-b"] * 3
    # Incidents join records from both nodes: one per client address.
    r = a.cli("stats", "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["total"] == 6, st
    assert st["incidents"]["count"] == 2, st
    burst = [i for i in st["incidents"]["recent"]
             if i["client_ip"] == "198.51.100.7"]
    assert len(burst) == 1 and burst[0]["count"] == 5, st


def test_cross_host_grant_and_revoke(hosts):
    a, b = hosts
    assert smtp_relay(b, UNTRUSTED) == 554
    m = poplib.POP3("127.0.0.1", a.pop3_port, timeout=10)
    m.sock.close()
    m = POP3From(a.pop3_port, UNTRUSTED)
    m.user(ALICE)
    m.pass_(PASSWORD)
    m.quit()
    t0 = time.time()
    assert wait_for(lambda: smtp_relay(b, UNTRUSTED) == 250, 1.0)
    assert time.time() - t0 < 1.5
    assert smtp_relay(b, OTHER) == 554
    r = b.cli("grants", "list")
    assert r.returncode == 0 and UNTRUSTED in r.stdout and ALICE in r.stdout
    r = b.cli("grants", "revoke", UNTRUSTED)
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: smtp_relay(a, UNTRUSTED) == 554, 1.0)


class POP3From(poplib.POP3):
    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        import socket
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


def test_migration_from_schema_1(pg, db, make_pillory):
    name = db.rsplit("/", 1)[1]
    # A day old: inside [attacklog] retention, so the start purges nothing.
    t_us = int((time.time() - 86400) * 1e6)
    day = time.strftime("%Y-%m-%d", time.gmtime(t_us / 1e6))
    # A version 1 store (before attacks.node) with one record in it.
    pg.psql(name, f"""
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE attacks (id BIGSERIAL PRIMARY KEY,
          time_us BIGINT NOT NULL, kind INTEGER NOT NULL,
          client_ip TEXT NOT NULL, client_name TEXT NOT NULL,
          helo TEXT NOT NULL, mail_from TEXT NOT NULL, rcpt_to TEXT NOT NULL,
          login_user TEXT NOT NULL, session TEXT NOT NULL,
          reply TEXT NOT NULL, port INTEGER NOT NULL,
          withdrawn INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE daily_counts (day TEXT NOT NULL, kind INTEGER NOT NULL,
          count BIGINT NOT NULL, PRIMARY KEY (day, kind));
        CREATE TABLE daily_withdrawn (day TEXT NOT NULL,
          kind INTEGER NOT NULL, count BIGINT NOT NULL,
          PRIMARY KEY (day, kind));
        CREATE TABLE incidents (id BIGSERIAL PRIMARY KEY,
          client_ip TEXT NOT NULL, client_name TEXT NOT NULL,
          first_us BIGINT NOT NULL, last_us BIGINT NOT NULL,
          count BIGINT NOT NULL, kinds BIGINT NOT NULL,
          senders TEXT NOT NULL, targeted INTEGER NOT NULL);
        CREATE TABLE grants (network TEXT PRIMARY KEY,
          login_user TEXT NOT NULL, expires_us BIGINT NOT NULL);
        CREATE TABLE logins (network TEXT PRIMARY KEY,
          last_us BIGINT NOT NULL);
        CREATE TABLE bans (network TEXT PRIMARY KEY,
          start_us BIGINT NOT NULL, expires_us BIGINT NOT NULL,
          level BIGINT NOT NULL, manual INTEGER NOT NULL);
        INSERT INTO attacks (time_us, kind, client_ip, client_name, helo,
          mail_from, rcpt_to, login_user, session, reply, port)
          VALUES ({t_us}, 1, '211.219.235.140', 'unknown', 'x',
          'bbbb@gabacho-net.jp', 'a@empal.com', '', 's', 'r', 25);
        INSERT INTO daily_counts VALUES ('{day}', 1, 1);
    """)
    p = make_pillory(start=False, store__url=db, store__node="mx-new")
    p.write_config()
    # Before the daemon migrates, readers refuse with a clear message.
    r = p.cli("log")
    assert r.returncode != 0 and "schema version 1" in r.stderr, r.stderr
    p.start()
    assert pg.psql(name, "SELECT version FROM schema_version").strip() == "4"
    proxied_relay(p, "192.0.2.44", 1)
    recs = wait_for(lambda: len(records(p)) == 2 and records(p))
    assert recs, records(p)
    assert recs[0]["client_ip"] == "211.219.235.140"
    assert "node" not in recs[0]             # written before nodes
    assert recs[1]["node"] == "mx-new"


def test_store_unreachable_is_clear(make_pillory):
    port = free_port()
    p = make_pillory(start=False,
                     store__url=f"postgresql://postgres@127.0.0.1:{port}/x")
    p.write_config()
    r = p.cli("log")
    assert r.returncode != 0
    assert "store unreachable" in r.stderr, r.stderr
    # The password of a URI never reaches a message.
    p.sections["store"]["url"] = \
        f"postgresql://postgres:s3cret@127.0.0.1:{port}/x"
    p.write_config()
    r = p.cli("stats")
    assert r.returncode != 0 and "unreachable" in r.stderr
    assert "s3cret" not in r.stderr, r.stderr


def test_url_must_be_postgresql(make_pillory):
    p = make_pillory(start=False, store__url="/var/lib/pillory/x.db")
    p.write_config()
    r = p.cli("log")
    assert r.returncode != 0 and "postgresql://" in r.stderr, r.stderr


def greeting(p, src):
    """The greeting code a PROXY-announced client src gets."""
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(src))
    code, _ = c.reply()
    if code == 220:
        c.cmd("QUIT")
    c.close()
    return code


def test_ban_and_unban_reach_the_other_host(hosts):
    a, b = hosts
    assert greeting(b, "192.0.2.77") == 220
    t0 = time.time()
    r = a.cli("bans", "add", "192.0.2.0/24")
    assert r.returncode == 0, r.stderr
    # NOTIFY, the other host's view reloads and tells its engine at once.
    assert wait_for(lambda: greeting(b, "192.0.2.77") == 554, 1.0)
    assert time.time() - t0 < 1.0
    r = b.cli("bans", "list")
    assert r.returncode == 0 and "192.0.2.0/24" in r.stdout, r.stdout
    t0 = time.time()
    r = b.cli("bans", "remove", "192.0.2.0/24")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: greeting(a, "192.0.2.77") == 220, 1.0)
    assert time.time() - t0 < 1.0


def test_automatic_ban_reaches_the_other_host_within_a_second(make_pillory,
                                                               db):
    """A flood banned on mx-a is refused by mx-b within a second: the ban
    leaves mx-a after its loop turn and mx-b applies the notification at
    once, not at its next tick."""
    def make(node):
        return make_pillory(**{"store__url": db, "store__node": node,
                               "defense__ban_after": "3",
                               "defense__ban_window": "1h"})
    a, b = make("mx-a"), make("mx-b")
    src = "192.0.2.90"
    assert greeting(b, src) == 220
    proxied_relay(a, src, 3)
    t0 = time.time()
    assert wait_for(lambda: greeting(a, src) == 554, 2)
    assert wait_for(lambda: greeting(b, src) == 554, 1.0)
    assert time.time() - t0 < 1.0, time.time() - t0


def pg_pids(pg):
    """The postmaster and all its children."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    r = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                       text=True)
    return [master] + [int(x) for x in r.stdout.split()]


def test_hung_store_never_stalls_the_engine(pg, hosts):
    """PostgreSQL that hangs (stopped, not refusing): a POP3 login, its
    grant and mail through it, and new sessions are answered at once; the
    grant reaches the other host once the store is back."""
    a, b = hosts
    assert greeting(a, "192.0.2.5") == 220
    pids = pg_pids(pg)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(0.3)
        t0 = time.time()
        m = POP3From(a.pop3_port, UNTRUSTED)
        m.user(ALICE)
        m.pass_(PASSWORD)
        m.quit()
        assert smtp_relay(a, UNTRUSTED) == 250
        for i in range(5):
            assert greeting(a, f"192.0.2.{10 + i}") == 220
        assert time.time() - t0 < 1.5, time.time() - t0
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    # Written when the store answers again, then seen by the other host.
    assert wait_for(lambda: smtp_relay(b, UNTRUSTED) == 250, 15)


def test_outage_uses_last_known_grants(pg, hosts):
    a, b = hosts
    m = POP3From(a.pop3_port, UNTRUSTED)
    m.user(ALICE)
    m.pass_(PASSWORD)
    m.quit()
    assert wait_for(lambda: smtp_relay(b, UNTRUSTED) == 250, 1.0)
    pg.stop()
    try:
        # Mail flows and look-ups answer from memory, at once.
        t0 = time.time()
        assert smtp_relay(b, UNTRUSTED) == 250
        assert smtp_relay(b, OTHER) == 554
        assert time.time() - t0 < 2
        # The admin is told clearly.
        r = b.cli("log")
        assert r.returncode != 0 and "store unreachable" in r.stderr
    finally:
        pg.start()
    # After the restart, the view is reloaded: a revoke reaches b again.
    assert wait_for(lambda: a.cli("grants", "revoke", UNTRUSTED)
                    .returncode == 0, 5)
    assert wait_for(lambda: smtp_relay(b, UNTRUSTED) == 554, 3)


def spooled(p):
    """Records waiting in p's spool (a replay in progress included)."""
    n = 0
    for name in ("records", "replaying"):
        f = p.state / "store-spool" / name
        n += len(f.read_text().splitlines()) if f.exists() else 0
    return n


def test_outage_spool_exactly_once(pg, db, hosts):
    a, b = hosts
    name = db.rsplit("/", 1)[1]
    pg.stop()
    try:
        t0 = time.time()
        proxied_relay(a, "198.51.100.50", 30)
        proxied_relay(b, "198.51.100.51", 20)
        # Every RCPT was answered at once: nothing waits on the store.
        assert time.time() - t0 < 10
        assert wait_for(lambda: spooled(a) == 30 and spooled(b) == 20, 10), \
            (spooled(a), spooled(b))
        # A restart while records are spooled loses none, and the
        # daemon starts and takes mail with the database still down.
        assert a.stop() == 0
        saved = (a.state / "store-spool" / "records").read_bytes()
        assert len(saved.splitlines()) == 30
        a.start()
        proxied_relay(a, "198.51.100.52", 5)
        assert wait_for(lambda: spooled(a) == 35, 10), spooled(a)
    finally:
        pg.start()
    count = "SELECT COUNT(*), COUNT(DISTINCT uid) FROM attacks"
    assert wait_for(lambda: pg.psql(name, count).strip() == "55|55", 10), \
        pg.psql(name, count)
    assert wait_for(lambda: spooled(a) == 0 and spooled(b) == 0, 5)
    assert "spooled records written" in a.log()
    recs = records(b)
    assert sorted(r["node"] for r in recs) == ["mx-a"] * 35 + ["mx-b"] * 20
    # Replaying the same records again stores nothing twice.
    assert a.stop() == 0
    (a.state / "store-spool" / "records").write_bytes(saved)
    a.start()
    assert wait_for(lambda: spooled(a) == 0, 5)
    assert pg.psql(name, count).strip() == "55|55"
    r = a.cli("stats", "--json")
    assert json.loads(r.stdout)["total"] == 55


def test_check_warns_about_a_readable_password(make_pillory):
    p = make_pillory(start=False,
                     store__url="postgresql://pillory:s3cret@127.0.0.1:1/x")
    p.write_config()
    p.conf.chmod(0o644)
    r = p.cli("check")
    assert "[store] url carries a password" in r.stderr, r.stderr
    p.conf.chmod(0o640)
    r = p.cli("check")
    assert "[store] url" not in r.stderr, r.stderr
    # Without a password, nothing to say.
    p.sections["store"]["url"] = "postgresql://pillory@127.0.0.1:1/x"
    p.write_config()
    p.conf.chmod(0o644)
    assert "[store] url" not in p.cli("check").stderr


def test_one_host_writes_the_page(hosts):
    a, b = hosts
    page = lambda p: p.state / "public" / "index.html"
    # a started first and holds the page lock; b never writes one.
    proxied_relay(b, "198.51.100.60", 2)
    proxied_relay(a, "198.51.100.61", 1)
    assert wait_for(lambda: page(a).exists() and
                    "198.51.100.60" in page(a).read_text(), 10)
    assert "this host writes the page" in a.log()
    time.sleep(0.5)
    assert not page(b).exists()
    assert "another host writes the page" not in a.log()
    # Records on b alone reach a's page: a hears of them by NOTIFY.
    proxied_relay(b, "198.51.100.63", 1)
    assert wait_for(lambda: "198.51.100.63" in page(a).read_text(), 10)
    assert not page(b).exists()
    # a stops: b takes over at its next change.
    assert a.stop() == 0
    proxied_relay(b, "198.51.100.62", 1)
    assert wait_for(lambda: page(b).exists() and
                    "198.51.100.62" in page(b).read_text(), 10), b.log()


def test_login_on_one_host_withdraws_records_of_another(hosts):
    a, b = hosts
    assert smtp_relay(b, UNTRUSTED) == 554       # recorded on mx-b
    assert wait_for(lambda: len(records(b)) == 1)
    m = POP3From(a.pop3_port, UNTRUSTED)          # proves itself on mx-a
    m.user(ALICE)
    m.pass_(PASSWORD)
    m.quit()
    assert wait_for(lambda: records(a)[0].get("withdrawn") is True, 5), \
        records(a)
    # A record made after the login is withdrawn when it is written.
    assert smtp_relay(b, OTHER) == 554
    c = Client(b.connect(source=UNTRUSTED))
    assert c.reply()[0] == 220
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<x@outside.test>")
    c.cmd("RCPT TO:<nosuch@example.test>")
    c.cmd("QUIT")
    c.close()
    recs = wait_for(lambda: len(records(a)) >= 2 and records(a))
    by_ip = {}
    for r in recs:
        by_ip.setdefault(r["client_ip"], []).append(r.get("withdrawn", False))
    assert by_ip[OTHER] == [False]
    assert all(by_ip[UNTRUSTED])


def test_attacker_bytes_never_break_a_batch(hosts):
    a, b = hosts
    c = Client(a.connect(port=a.proxy_port))
    c.send(proxy_v1("198.51.100.70"))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    # Quotes, backslashes and braces: the array literals' own syntax.
    sender = '"a\\\\\\"{},b"@outside.test'
    c.send(f"MAIL FROM:<{sender}>\r\n".encode())
    code, _ = c.reply()
    c.send(b"RCPT TO:<v@elsewhere.test>\r\n")
    c.reply()
    # Bytes that are not UTF-8, where the session takes them at all.
    c.send(b"MAIL FROM:<b\xffad@outside.test> SMTPUTF8\r\n")
    c.reply()
    c.send(b"RCPT TO:<v\xfe@elsewhere.test>\r\n")
    c.reply()
    c.cmd("QUIT")
    c.close()
    proxied_relay(a, "198.51.100.71", 1)
    assert wait_for(lambda: any(r["client_ip"] == "198.51.100.71"
                                for r in records(b)), 10), a.log()[-2000:]
    assert spooled(a) == 0
    assert "records go to the spool" not in a.log()
    if code == 250:
        assert any(r["from"] == sender for r in records(b)), records(b)
