"""Privacy of the public page: it shows what proves an attack and nothing
of our own users (README, "The public page").

Each test drives the real daemon with real clients (raw SMTP, poplib,
STARTTLS + AUTH) from loopback source addresses (127.0.0.1 is trusted,
127.0.0.5 and 127.0.0.6 are not) or through the PROXY listener from
outside addresses, waits for the records with `pillory log --json`, runs
`pillory publish` and reads the HTML, Atom and JSON it wrote."""
import json
import poplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PASSWORD, Client, free_port, proxy_v1

SEED = "211.219.235.140"        # the 2002 attacker
USER_IP = "127.0.0.5"           # bob at home: not a trusted network
OTHER_IP = "127.0.0.6"
PAGE = ("index.html", "index.en.html", "index.ja.html", "feed.atom",
        "feed.en.atom", "attacks.json")


# ---- helpers ----------------------------------------------------------------

def pop_daemon(make_pillory, **extra):
    port = free_port()
    o = {"pop3__listen": f"127.0.0.1:{port}", "pop3__allow_plaintext": "yes"}
    o.update(extra)
    p = make_pillory(**o)
    p.pop_port = port
    return p


class SourcePOP3(poplib.POP3):
    """poplib from a chosen loopback source address."""

    def __init__(self, host, port, source):
        self.source = source
        super().__init__(host, port, timeout=10)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


def pop_login(p, user, password, source):
    m = SourcePOP3("127.0.0.1", p.pop_port, source)
    try:
        m.user(user)
        m.pass_(password)
        m.stat()
    finally:
        try:
            m.quit()
        except (poplib.error_proto, OSError):
            pass


def pop_fail(p, user, source):
    m = SourcePOP3("127.0.0.1", p.pop_port, source)
    m.user(user)
    with pytest.raises(poplib.error_proto):
        m.pass_("not the password")
    m.quit()


def smtp(p, source="127.0.0.1", port=None):
    c = Client(p.connect(port=port, source=source))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    return c


def refused(c, sender, rcpt, code=554):
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    got, lines = c.cmd(f"RCPT TO:<{rcpt}>")
    assert got == code, (got, lines)
    assert c.cmd("RSET")[0] == 250


def proxied(p, src):
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(src))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO bot.example")[0] == 250
    return c


def records(p):
    r = p.cli("log", "--json")
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines() if x]


def wait_for(p, pred, what, timeout=15):
    deadline = time.time() + timeout
    recs = []
    while time.time() < deadline:
        recs = records(p)
        if pred(recs):
            return recs
        time.sleep(0.1)
    raise AssertionError(f"{what}: {recs}")


def publish(p):
    r = p.cli("publish")
    assert r.returncode == 0, r.stderr
    site = p.state / "public"
    return {name: (site / name).read_text() for name in PAGE}


def page_json(pages):
    return json.loads(pages["attacks.json"])


# ---- a user who forgot to fetch mail first ----------------------------------

def test_user_relay_then_pop_login_is_withdrawn(make_pillory):
    """bob's mailer tries to relay before fetching mail (refused, recorded
    as spoofed-relay from=<bob@...>), then logs in by POP3 from the same
    address: the record leaves the page, counts included, and stays in
    `pillory log` marked withdrawn. A record after the login is withdrawn
    at once. The 2002 attack beside it stays."""
    p = pop_daemon(make_pillory, relay__pop_before_smtp="0")
    c = smtp(p, source=USER_IP)
    refused(c, "bob@example.test", "friend@remote.test")
    c.cmd("QUIT")
    c.close()
    a = proxied(p, SEED)
    refused(a, "bbbb@example.test", "x@empal.com")
    a.cmd("QUIT")
    a.close()
    wait_for(p, lambda rs: len(rs) == 2, "two records")
    # Before the login the user's attempt is (wrongly) on the page: the
    # test would see a broken withdrawal.
    assert f"[{USER_IP}] from=&lt;******@example.test&gt;" in \
        publish(p)["index.en.html"]

    pop_login(p, "bob@example.test", PASSWORD, USER_IP)
    recs = wait_for(p, lambda rs: any(r.get("withdrawn") for r in rs),
                    "bob's record withdrawn")
    mine = [r for r in recs if r["client_ip"] == USER_IP]
    assert len(mine) == 1 and mine[0]["withdrawn"] is True, recs
    seed = [r for r in recs if r["client_ip"] == SEED]
    assert len(seed) == 1 and "withdrawn" not in seed[0], recs
    line = [x for x in p.cli("log").stdout.splitlines() if USER_IP in x]
    assert line and line[0].endswith(" withdrawn"), line

    # Relay refused again after the login (no POP-before-SMTP here):
    # withdrawn as it is written.
    c = smtp(p, source=USER_IP)
    refused(c, "bob@example.test", "later@remote.test")
    c.cmd("QUIT")
    c.close()
    recs = wait_for(p, lambda rs: len(rs) == 3, "third record")
    assert [r.get("withdrawn") for r in recs
            if r["client_ip"] == USER_IP] == [True, True], recs

    pages = publish(p)
    for name, text in pages.items():
        assert USER_IP not in text, name
        assert "bob@" not in text, name
        assert "friend@remote.test" not in text, name
        assert "later@remote.test" not in text, name
    assert SEED in pages["index.en.html"]
    data = page_json(pages)
    assert data["counts"]["total"] == 1, data["counts"]
    assert [r["client_ip"] for r in data["recent"]] == [SEED]
    assert all(i["client_ip"] == SEED for i in data["incidents"])
    # The admin's counts still have all three.
    s = json.loads(p.cli("stats", "--json").stdout)
    assert s["total"] == 3 and s["withdrawn"] == 2, s


# ---- failed logins ------------------------------------------------------------

def test_auth_fail_from_trusted_network_never_published(make_pillory):
    """Even with auth-fail among the published kinds, a mistyped password
    from the trusted network is kept for the admin only; one from outside
    is published (without the login name)."""
    p = pop_daemon(make_pillory, publish__kinds="relay, spoofed-relay, "
                   "forged-local, protocol, banned, auth-fail")
    pop_fail(p, "alice@example.test", "127.0.0.1")
    pop_fail(p, "alice@example.test", OTHER_IP)
    recs = wait_for(p, lambda rs: len(rs) == 2, "two auth-fail records")
    by_ip = {r["client_ip"]: r for r in recs}
    assert by_ip["127.0.0.1"]["kind"] == "auth-fail"
    assert by_ip["127.0.0.1"]["withdrawn"] is True
    assert "withdrawn" not in by_ip[OTHER_IP]
    pages = publish(p)
    assert f"[{OTHER_IP}] auth-fail" in pages["index.en.html"]
    assert "[127.0.0.1]" not in pages["index.en.html"]
    for name, text in pages.items():
        assert "alice@" not in text, name
    assert [r["client_ip"] for r in page_json(pages)["recent"]] == [OTHER_IP]


def test_auth_fail_not_published_by_default(make_pillory):
    p = pop_daemon(make_pillory)
    pop_fail(p, "alice@example.test", OTHER_IP)
    wait_for(p, lambda rs: len(rs) == 1, "one auth-fail record")
    pages = publish(p)
    for name, text in pages.items():
        assert OTHER_IP not in text, name
    assert page_json(pages)["counts"]["total"] == 0


# ---- our users' slips are no attacks -----------------------------------------

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


BARE_LF_MESSAGE = (b"Subject: hi\r\n\r\nline one\nline two\r\n.\r\n")


def bare_lf_after(c, sender, rcpt):
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(BARE_LF_MESSAGE)
    code, lines = c.reply()
    assert code == 554, (code, lines)


def test_bare_lf_from_our_users_refused_not_recorded(make_pillory, cert):
    """A bare LF from an authenticated user or a trusted client is refused
    (smuggling) but no attack; from a stranger it is recorded."""
    p = make_pillory(tls__cert=str(cert[0]), tls__key=str(cert[1]))
    # Authenticated, from an untrusted address.
    c = smtp(p, source=USER_IP)
    assert c.cmd("STARTTLS")[0] == 220
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    assert c.cmd("EHLO alice-laptop.example")[0] == 250
    import base64
    tok = base64.b64encode(
        f"\0alice@example.test\0{PASSWORD}".encode()).decode()
    assert c.cmd(f"AUTH PLAIN {tok}")[0] == 235
    bare_lf_after(c, "alice@example.test", "friend@remote.test")
    c.cmd("QUIT")
    c.close()
    # Trusted network, no AUTH.
    c = smtp(p, source="127.0.0.1")
    bare_lf_after(c, "carol@gabacho-net.jp", "pal@remote.test")
    c.cmd("QUIT")
    c.close()
    # A stranger through the PROXY listener: recorded.
    c = proxied(p, SEED)
    bare_lf_after(c, "x@outside.test", "alice@example.test")
    c.cmd("QUIT")
    c.close()
    recs = wait_for(p, lambda rs: len(rs) >= 1, "the stranger's record")
    time.sleep(0.5)
    recs = records(p)
    assert [(r["client_ip"], r["kind"]) for r in recs] == \
        [(SEED, "protocol")], recs
    pages = publish(p)
    for name, text in pages.items():
        assert "alice-laptop" not in text, name
        assert "friend@remote.test" not in text, name
        assert "pal@remote.test" not in text, name
        assert "alice@" not in text, name
    assert "not recorded" in p.log()


# ---- real attacks stay, our addresses never show ----------------------------

def test_2002_attack_published_with_masked_recipient(make_pillory):
    p = make_pillory()
    c = proxied(p, SEED)
    refused(c, "bbbb@example.test", "x@empal.com")
    refused(c, "good@example.test", "x@empal.com")
    c.cmd("QUIT")
    c.close()
    wait_for(p, lambda rs: len(rs) == 2, "two records")
    pages = publish(p)
    html = pages["index.en.html"]
    assert (f"unknown [{SEED}] from=&lt;bbbb@example.test&gt; "
            f"to=&lt;******@empal.com&gt;") in html, html
    data = page_json(pages)
    assert data["counts"]["total"] == 2
    assert {r["from"] for r in data["recent"]} == \
        {"bbbb@example.test", "good@example.test"}
    assert {r["to"] for r in data["recent"]} == {"******@empal.com"}
    assert "bbbb@example.test" in pages["feed.en.atom"]


def test_our_addresses_never_unmasked(make_pillory):
    """mask_recipients = no shows outside recipients, but a user's or an
    alias's address (postmaster included) is masked as sender and as
    recipient, on every page."""
    p = make_pillory(publish__mask_recipients="no")
    c = proxied(p, SEED)
    refused(c, "alice@example.test", "someone@remote.test")
    refused(c, "Postmaster@example.test", "other@remote.test")
    refused(c, "abuse@example.test", "bob@example.test", code=550)
    refused(c, "info@example.test", "carol@gabacho-net.jp", code=550)
    refused(c, "nobody-here@example.test", "third@remote.test")
    c.cmd("QUIT")
    c.close()
    wait_for(p, lambda rs: len(rs) == 5, "five records")
    pages = publish(p)
    for name, text in pages.items():
        low = text.lower()
        for who in ("alice@", "bob@", "abuse@", "postmaster@", "info@",
                    "carol@"):
            assert who not in low, (name, who)
    html = pages["index.en.html"]
    assert "to=&lt;someone@remote.test&gt;" in html
    assert "from=&lt;******@example.test&gt;" in html
    assert "to=&lt;******@gabacho-net.jp&gt;" in html
    # An unknown local part is the attacker's invention: shown as is.
    assert "from=&lt;nobody-here@example.test&gt;" in html
    # The admin sees everything.
    assert "alice@example.test" in p.cli("log").stdout


def test_smtp_auth_login_withdraws_earlier_refusals(make_pillory, cert):
    """The same with SMTP AUTH (STARTTLS, AUTH PLAIN) instead of POP3: the
    refused attempt from that address just before leaves the page."""
    import base64
    p = make_pillory(tls__cert=str(cert[0]), tls__key=str(cert[1]))
    c = smtp(p, source=USER_IP)
    refused(c, "alice@example.test", "pal@remote.test")
    c.cmd("QUIT")
    c.close()
    wait_for(p, lambda rs: len(rs) == 1, "alice's refused relay")
    assert USER_IP in publish(p)["index.en.html"]
    c = smtp(p, source=USER_IP)
    assert c.cmd("STARTTLS")[0] == 220
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    assert c.cmd("EHLO alice-laptop.example")[0] == 250
    tok = base64.b64encode(
        f"\0alice@example.test\0{PASSWORD}".encode()).decode()
    assert c.cmd(f"AUTH PLAIN {tok}")[0] == 235
    c.cmd("QUIT")
    c.close()
    recs = wait_for(p, lambda rs: rs and rs[0].get("withdrawn"),
                    "withdrawn after AUTH")
    assert recs[0]["client_ip"] == USER_IP
    pages = publish(p)
    for name, text in pages.items():
        assert USER_IP not in text, name
    assert page_json(pages)["counts"]["total"] == 0
