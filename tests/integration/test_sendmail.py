"""The Unix mail interface (README "Installing"): `sendmail`, `mailq` and
`newaliases` against a real daemon, as root and as the unprivileged user
`nobody`, through the local submission socket STATE_DIR/submit.sock.

Covered: explicit recipients (bare names get the first local domain), -t
with To/Cc/Bcc (Bcc removed), -i keeping a lone dot line and its absence
ending the message there, Date/From/Message-ID added only when missing,
the Received header naming the submitting uid, remote recipients queued,
unknown local users (EX_NOUSER), over-long lines (EX_DATAERR), unsupported
options (EX_USAGE), the daemon down (EX_UNAVAILABLE), the program called
by the names sendmail/mailq/newaliases, newaliases reloading (root only),
and broken requests on the raw socket."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, SAN_ENV

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_UNAVAILABLE, EX_NOPERM = 64, 65, 67, 69, 77

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def top():
    """A directory every user can reach (pytest's tmp is root-only)."""
    d = Path(tempfile.mkdtemp(prefix="pillory-sendmail-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def mx(make_pillory, top):
    p = make_pillory(start=False, server__state_dir=str(top / "var"))
    p.state = top / "var"
    p.start()
    # The config where nobody can read it too.
    p.public_conf = top / "pillory.conf"
    shutil.copy(p.conf, p.public_conf)
    p.public_conf.chmod(0o644)
    return p


def sendmail(p, args, text, user=None, argv0=None, check=None):
    env = dict(os.environ)
    env.update(SAN_ENV)
    env["PILLORY_CONFIG"] = str(p.public_conf)
    cmd = [argv0 or BIN] + ([] if argv0 else ["sendmail"]) + args
    if user:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, input=text.encode() if text is not None
                       else None, capture_output=True, env=env, timeout=60)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stderr, p.log()[-2000:])
    return r


def one_message(p, user, domain="example.test"):
    msgs = p.messages(user, domain)
    assert len(msgs) == 1, msgs
    return msgs[0].decode()


def header_block(msg):
    """The headers as submitted and stamped by the daemon, without the
    Return-Path and Delivered-To lines that Maildir delivery puts first."""
    head = msg.split("\n\n", 1)[0]
    lines = head.split("\n")
    assert lines[0].startswith("Return-Path: <"), head
    assert lines[1].startswith("Delivered-To: "), head
    return "\n".join(lines[2:])


def test_explicit_recipients_headers_added(mx):
    sendmail(mx, ["alice", "bob@example.test"],
             "Subject: cron output\n\nhello\nworld\n", check=0)
    for user in ("alice", "bob"):
        msg = one_message(mx, user)
        head = header_block(msg)
        assert head.startswith("Received: (from root uid 0)\n"), msg
        assert "\tby mx.example.test (pillory) id " in head
        assert "\nSubject: cron output\n" in head
        assert "\nDate: " in head
        assert "\nFrom: " in head and "<root@example.test>" in head
        assert "\nMessage-ID: <" in head and "@mx.example.test>" in head
        assert msg.endswith("\n\nhello\nworld\n"), msg
    assert "submit queued id=" in mx.log()


def test_existing_headers_kept(mx):
    text = ("From: Alice <alice@example.test>\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
            "Message-ID: <fixed@example.test>\n"
            "Subject: mine\n\nbody\n")
    sendmail(mx, ["-f", "alice@example.test", "bob"], text, check=0)
    head = header_block(one_message(mx, "bob"))
    assert head.count("From:") == 1 and "Alice <alice@example.test>" in head
    assert head.count("Date:") == 1 and head.count("Message-ID:") == 1
    assert "<fixed@example.test>" in head


def test_t_recipients_from_headers_bcc_removed(mx):
    text = ("To: Alice <alice@example.test>, someone@remote.test\n"
            "Cc: \"Bob, B.\" <bob@example.test>\n"
            "Bcc: carol@gabacho-net.jp\n"
            "Subject: -t\n\nsee you\n")
    sendmail(mx, ["-t", "-F", "The Sender"], text, check=0)
    for user, dom in (("alice", "example.test"), ("bob", "example.test"),
                      ("carol", "gabacho-net.jp")):
        head = header_block(one_message(mx, user, dom))
        assert "Bcc" not in head and "carol" not in head, head
        assert "To: Alice <alice@example.test>, someone@remote.test" in head
        assert "From: The Sender <root@example.test>" in head
        # several recipients: no "for <...>" in Received
        assert "\tfor <" not in head
    queued = list((mx.state / "queue").glob("*.env"))
    assert len(queued) == 1
    assert "someone@remote.test" in queued[0].read_text(errors="replace")


def test_t_without_recipients_is_usage(mx):
    r = sendmail(mx, ["-t"], "Subject: nobody\n\nx\n", check=EX_USAGE)
    assert b"no recipients" in r.stderr


def test_i_keeps_lone_dot_line(mx):
    sendmail(mx, ["-i", "alice"], "Subject: dots\n\nbefore\n.\nafter\n",
             check=0)
    msg = one_message(mx, "alice")
    assert msg.endswith("\nbefore\n.\nafter\n"), msg


def test_oi_is_i(mx):
    sendmail(mx, ["-oi", "bob"], "Subject: dots\n\nbefore\n.\nafter\n",
             check=0)
    assert one_message(mx, "bob").endswith("\nbefore\n.\nafter\n")


def test_without_i_a_lone_dot_ends_the_message(mx):
    sendmail(mx, ["alice"], "Subject: dots\n\nbefore\n.\nafter\n", check=0)
    msg = one_message(mx, "alice")
    assert msg.endswith("\nbefore\n"), msg
    assert "after" not in msg


def test_crlf_input_and_no_header(mx):
    sendmail(mx, ["alice"], "just a body line\r\nand another\r\n", check=0)
    msg = one_message(mx, "alice")
    assert "\r" not in msg
    head, body = msg.split("\n\n", 1)
    assert "\nDate: " in head and "\nFrom: " in head
    assert body == "just a body line\nand another\n", msg


@needs_root
def test_unprivileged_user(mx):
    nobody = pwd.getpwnam("nobody")
    sendmail(mx, ["alice"], "Subject: from nobody\n\nhi\n", user="nobody",
             check=0)
    head = header_block(one_message(mx, "alice"))
    assert head.startswith(f"Received: (from nobody uid {nobody.pw_uid})\n")
    assert "for <alice@example.test>" in head
    assert "<nobody@example.test>" in head
    st = (mx.state / "submit.sock").stat()
    assert st.st_mode & 0o777 == 0o666
    # The state directory is searchable, not listable; the attack log
    # stays private.
    assert (mx.state.stat().st_mode & 0o7) == 0o1
    for f in mx.state.glob("attacklog.db*"):
        assert f.stat().st_mode & 0o077 == 0, f


@needs_root
def test_unprivileged_user_cannot_forge_uid(mx):
    """The uid comes from the kernel: a Received line in the message is
    just text, and the envelope sender -f does not change the uid."""
    sendmail(mx, ["-f", "root@example.test", "alice"],
             "Received: (from root uid 0) by fake\nSubject: x\n\nhi\n",
             user="nobody", check=0)
    msg = one_message(mx, "alice")
    nobody = pwd.getpwnam("nobody")
    assert header_block(msg).startswith(
        f"Received: (from nobody uid {nobody.pw_uid})\n")


def test_unknown_local_user(mx):
    r = sendmail(mx, ["alice", "nosuchuser"], "Subject: x\n\nx\n",
                 check=EX_NOUSER)
    assert b"nosuchuser@example.test" in r.stderr
    assert mx.messages("alice") == []


def test_alias_and_postmaster(mx):
    sendmail(mx, ["info", "postmaster"], "Subject: a\n\nx\n", check=0)
    assert len(mx.messages("alice")) == 1
    assert len(mx.messages("bob")) == 1
    assert len(mx.messages("postmaster")) == 1


def test_long_line_refused(mx):
    r = sendmail(mx, ["alice"], "Subject: x\n\n" + "a" * 999 + "\n",
                 check=EX_DATAERR)
    assert b"998" in r.stderr
    assert mx.messages("alice") == []


def test_bad_recipient_and_options(mx):
    sendmail(mx, ["<alice@example.test"], "x\n", check=EX_DATAERR)
    r = sendmail(mx, ["-bs"], "", check=EX_USAGE)
    assert b"-bs" in r.stderr
    sendmail(mx, ["-f"], "", check=EX_USAGE)
    # Ignored options are accepted.
    sendmail(mx, ["-odi", "-oem", "-v", "-N", "never", "alice"], "x\n",
             check=0)


def test_called_as_sendmail_mailq_newaliases(mx, top):
    links = top / "bin"
    links.mkdir()
    for name in ("sendmail", "mailq", "newaliases"):
        (links / name).symlink_to(BIN)
    sendmail(mx, ["-oi", "-t"], "To: bob\nSubject: link\n\nx\n",
             argv0=str(links / "sendmail"), check=0)
    assert len(mx.messages("bob")) == 1
    sendmail(mx, ["someone@remote.test"], "Subject: q\n\nx\n", check=0)
    r = sendmail(mx, [], None, argv0=str(links / "mailq"), check=0)
    assert b"someone@remote.test" in r.stdout, r.stdout
    n = mx.log().count("reloaded ")
    r = sendmail(mx, [], None, argv0=str(links / "newaliases"), check=0)
    assert b"reloading" in r.stdout
    deadline = time.time() + 10
    while mx.log().count("reloaded ") == n and time.time() < deadline:
        time.sleep(0.05)
    assert mx.log().count("reloaded ") == n + 1
    r = sendmail(mx, ["-bp"], None, check=0)
    assert b"someone@remote.test" in r.stdout


@needs_root
def test_newaliases_needs_root(mx, top):
    r = sendmail(mx, ["-bi"], None, user="nobody", check=EX_NOPERM)
    assert b"only root" in r.stderr


def test_daemon_down(mx):
    mx.stop()
    r = sendmail(mx, ["alice"], "Subject: x\n\nx\n", check=EX_UNAVAILABLE)
    assert b"not running" in r.stderr
    assert mx.messages("alice") == []


def raw(mx, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(mx.state / "submit.sock"))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def test_raw_socket_refusals(mx):
    assert raw(mx, b"HELO there\n").startswith(b"usage ")
    assert raw(mx, b"RCPT <alice@example.test>\n").startswith(b"usage ")
    assert raw(mx, b"MAIL <>\nDATA 3\nx\n").startswith(b"usage ")
    assert raw(mx, b"X" * 5000).startswith(b"usage ")
    assert raw(mx, b"MAIL <>\nRCPT <alice@example.test>\nDATA 99999999999"
               b"\n").startswith(b"dataerr ")
    # Short text: the peer closed before the octets it announced.
    assert raw(mx, b"MAIL <>\nRCPT <alice@example.test>\nDATA 100\nab\n"
               ).startswith(b"usage ")
    assert raw(mx, b"MAIL <>\nRCPT <alice@example.test>\nDATA 6\na\0b\nc\n"
               ).startswith(b"dataerr ")
    assert mx.messages("alice") == []
    # Exact framing works, and the last line may lack its LF.
    out = raw(mx, b"MAIL <>\nRCPT <alice@example.test>\nDATA 13\n"
              b"Subject: r\n\nx")
    assert out.startswith(b"ok "), out
    assert one_message(mx, "alice").endswith("Subject: r\n\nx\n")


@needs_root
def test_daemon_as_unprivileged_user(make_pillory, top):
    """The usual set-up: the daemon drops to its own user; root and other
    users submit, the daemon's own user may reload."""
    nobody = pwd.getpwnam("nobody")
    p = make_pillory(start=False, server__user="nobody",
                     server__state_dir=str(top / "var"))
    p.state = top / "var"
    p.start()
    p.public_conf = top / "pillory.conf"
    shutil.copy(p.conf, p.public_conf)
    p.public_conf.chmod(0o644)
    assert p.state.stat().st_uid == nobody.pw_uid
    assert (p.state.stat().st_mode & 0o777) == 0o711
    sendmail(p, ["alice"], "Subject: root\n\nx\n", check=0)
    sendmail(p, ["bob"], "Subject: nobody\n\nx\n", user="nobody", check=0)
    assert header_block(one_message(p, "alice")).startswith(
        "Received: (from root uid 0)")
    assert header_block(one_message(p, "bob")).startswith(
        f"Received: (from nobody uid {nobody.pw_uid})")
    for m in (p.maildir("alice"), p.maildir("bob")):
        assert all(f.stat().st_uid == nobody.pw_uid for f in m.iterdir())
    # (The reload itself then fails here, since the test's passwd-file is
    # not readable by nobody: what counts is that the request got in.)
    sendmail(p, ["-bi"], None, user="nobody", check=0)
    deadline = time.time() + 10
    want = f"submit uid={nobody.pw_uid}: reload requested"
    while want not in p.log() and time.time() < deadline:
        time.sleep(0.05)
    assert want in p.log()


def test_config_options(mx, top):
    env = dict(os.environ)
    env.update(SAN_ENV)
    env["PILLORY_CONFIG"] = str(top / "missing.conf")
    r = subprocess.run([BIN, "-c", str(mx.public_conf), "sendmail",
                        "alice"], input=b"Subject: c\n\nx\n", env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BIN, "sendmail", "-C", str(mx.public_conf), "bob"],
                       input=b"Subject: C\n\nx\n", env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(mx.messages("alice")) == 1 and len(mx.messages("bob")) == 1
    r = subprocess.run([BIN, "sendmail", "carol@gabacho-net.jp"],
                       input=b"x\n", env=env, capture_output=True,
                       timeout=60)
    assert r.returncode == 78, r.stderr     # EX_CONFIG
    assert b"missing.conf" in r.stderr


def test_recipient_limit(make_pillory, top):
    p = make_pillory(start=False, server__state_dir=str(top / "var"),
                     smtp__max_recipients="100")
    p.state = top / "var"
    p.start()
    p.public_conf = top / "pillory.conf"
    shutil.copy(p.conf, p.public_conf)
    rcpts = [f"r{i}@remote.test" for i in range(101)]
    r = sendmail(p, rcpts, "Subject: many\n\nx\n", check=EX_DATAERR)
    assert b"too many recipients" in r.stderr
    assert list((p.state / "queue").glob("*.env")) == []
    sendmail(p, rcpts[:100], "Subject: many\n\nx\n", check=0)
    assert len(list((p.state / "queue").glob("*.env"))) == 1


def test_parallel_submissions(mx):
    env = dict(os.environ)
    env.update(SAN_ENV)
    env["PILLORY_CONFIG"] = str(mx.public_conf)
    procs = [subprocess.Popen([BIN, "sendmail", "alice"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env)
             for _ in range(20)]
    for i, pr in enumerate(procs):
        pr.stdin.write(f"Subject: n{i}\n\nmessage {i}\n".encode())
        pr.stdin.close()
    for pr in procs:
        assert pr.wait(timeout=60) == 0, pr.stderr.read()
    msgs = mx.messages("alice")
    assert len(msgs) == 20
    assert sorted(int(m.decode().rsplit("message ", 1)[1]) for m in msgs) \
        == list(range(20))


def test_connection_limit(mx):
    """At most 64 submissions at once; the next one is told to retry,
    and once they are gone the socket serves again."""
    held = []
    for _ in range(64):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(mx.state / "submit.sock"))
        held.append(s)
    time.sleep(0.5)
    assert raw(mx, b"MAIL <>\n").startswith(b"tempfail ")
    for s in held:
        s.close()
    time.sleep(0.5)
    sendmail(mx, ["alice"], "Subject: after\n\nx\n", check=0)
    assert len(mx.messages("alice")) == 1
