"""SRS for alias forwards through the real daemon ([delivery] srs_secret):
a forward to an outside address leaves with an SRS0 envelope sender that
a receiver sees (its hash checked here independently, HMAC-SHA1 as
libsrs2/postsrsd), a bounce to that address comes back and goes out to
the original sender, an SRS address of a local sender reaches her
Maildir, and forged or expired ones are refused with 550."""
import base64
import hashlib
import hmac
import os
import re
import smtplib
import time

import pytest

from conftest import free_port
from mtasim import DNSMASQ, Dnsmasq, Receiver, port_is_free

SECRET = "t3st-srs-secret"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(sender, domain="example.test", secret=SECRET, days_ago=0):
    local, dom = sender.rsplit("@", 1)
    d = (int(time.time()) // 86400 - days_ago) % 1024
    tt = B32[d >> 5] + B32[d & 31]
    mac = hmac.new(secret.encode(), (tt + dom + local).lower().encode(),
                   hashlib.sha1).digest()
    hh = base64.b64encode(mac)[:4].decode()
    return f"SRS0={hh}={tt}={dom}={local}@{domain}"


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    if not os.access(DNSMASQ, os.X_OK):
        pytest.skip("dnsmasq (package dnsmasq-base) is needed")
    d = Dnsmasq(tmp_path_factory.mktemp("dns"),
                mx=[("remote.test", "mx.remote.test", 10),
                    ("outside.test", "mx.remote.test", 10)],
                hosts=[("mx.remote.test", "127.0.0.2")])
    yield d
    d.stop()


@pytest.fixture
def setup(make_pillory, dns):
    for _ in range(50):
        port = free_port()
        if port_is_free(port, ["127.0.0.2"]):
            break
    made = []

    def factory(secret=SECRET):
        r = Receiver("127.0.0.2", port)
        made.append(r)
        kw = {"delivery__dns_servers": f"127.0.0.1:{dns.port}",
              "delivery__port": str(port), "delivery__retry": "1s"}
        if secret is not None:
            kw["delivery__srs_secret"] = secret
        return make_pillory(**kw), r

    yield factory
    for r in made:
        r.stop()


def send(p, sender, rcpts, source="127.0.0.1"):
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: srs\r\n\r\n"
           "Hello.\r\n")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20,
                      source_address=(source, 0)) as s:
        s.ehlo("client.example.test")
        return s.sendmail(sender, rcpts, msg.encode())


def rcpt_reply(p, rcpt, source="127.0.0.5", sender=""):
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20,
                      source_address=(source, 0)) as s:
        s.ehlo("bouncer.test")
        s.mail(f"<{sender}>")
        return s.rcpt(rcpt)


def test_forward_gets_srs_sender_and_bounce_returns(setup):
    p, r = setup()
    # From an untrusted client: the alias is what sends it outside.
    send(p, "sender@outside.test", ["fwd@example.test"], source="127.0.0.5")
    t = r.wait(1)[0]
    assert t["rcpts"] == ["someone@remote.test"]
    assert t["mail"] == srs0("sender@outside.test"), t["mail"]
    assert re.search(r"srs id=\S+ from=<sender@outside.test> "
                     r"queue_from=<SRS0=", p.log())
    # The destination refuses it later and bounces to the SRS address,
    # from an untrusted host: accepted and sent on to the real sender.
    code, text = rcpt_reply(p, t["mail"])
    assert code == 250, text
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20,
                      source_address=("127.0.0.5", 0)) as s:
        s.ehlo("bouncer.test")
        assert s.sendmail("<>", [t["mail"]],
                          b"Subject: Undelivered\r\n\r\nbounce\r\n") == {}
    back = r.wait(2)[1]
    assert back["mail"] == ""
    assert back["rcpts"] == ["sender@outside.test"]
    assert "bounce" in back["data"]
    wait_for(lambda: "orig_to=<" in p.log() and
             re.search(r"to=<sender@outside.test> relay=mx.remote.test"
                       r"\[127.0.0.2\]:\d+ .*status=sent", p.log()),
             what="the returned bounce")


def test_local_sender_not_rewritten(setup):
    p, r = setup()
    send(p, "alice@example.test", ["fwd@example.test"])
    t = r.wait(1)[0]
    assert t["mail"] == "alice@example.test"


def test_direct_relay_not_rewritten(setup):
    p, r = setup()
    send(p, "sender@outside.test", ["bob@remote.test"])
    t = r.wait(1)[0]
    assert t["mail"] == "sender@outside.test"


def test_srs_address_of_local_user_reaches_maildir(setup):
    p, r = setup()
    addr = srs0("alice@example.test")
    with smtplib.SMTP("127.0.0.1", p.port, timeout=20,
                      source_address=("127.0.0.5", 0)) as s:
        s.ehlo("bouncer.test")
        assert s.sendmail("<>", [addr],
                          b"Subject: bounce\r\n\r\nreturned\r\n") == {}
    wait_for(lambda: p.messages("alice"), what="alice's copy")
    assert b"returned" in p.messages("alice")[0]
    log = p.log()
    assert f"srs to=<alice@example.test> orig_to=<{addr}>" in log, log
    assert f"from=<> to=<alice@example.test> orig_to=<{addr}> relay=local " \
        "dsn=2.0.0 status=sent (delivered to maildir)" in log, log


def test_forged_and_expired_refused(setup):
    p, r = setup()
    good = srs0("sender@outside.test")
    forged = "SRS0=AAAA" + good[9:]
    code, text = rcpt_reply(p, forged)
    assert code == 550 and b"invalid SRS address" in text, text
    # Signed with another secret.
    code, text = rcpt_reply(p, srs0("sender@outside.test", secret="other"))
    assert code == 550, text
    # Another destination under a valid hash.
    code, text = rcpt_reply(p, good.replace("=sender@", "=victim@"))
    assert code == 550, text
    code, text = rcpt_reply(p, srs0("sender@outside.test", days_ago=30))
    assert code == 550 and b"expired" in text, text
    code, text = rcpt_reply(p, "SRS0=junk@example.test")
    assert code == 550, text
    assert "SRS bad-hash" in p.log() and "SRS expired" in p.log()
    # Nothing went anywhere.
    time.sleep(0.5)
    assert r.txns == []
    assert list((p.state / "queue").iterdir()) == []


def test_srs_off_without_secret(setup):
    p, r = setup(secret=None)
    send(p, "sender@outside.test", ["fwd@example.test"], source="127.0.0.5")
    t = r.wait(1)[0]
    assert t["mail"] == "sender@outside.test"
    code, _ = rcpt_reply(p, srs0("sender@outside.test"))
    assert code == 550


def test_check_does_not_print_the_key(make_pillory):
    p = make_pillory(start=False, delivery__srs_secret=SECRET)
    p.write_config()
    r = p.cli("check")
    assert r.returncode == 0, r.stderr
    assert "srs_secret = (set, not shown)" in r.stdout
    assert SECRET not in r.stdout + r.stderr
