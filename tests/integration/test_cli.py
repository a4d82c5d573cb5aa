"""The command line and the process: `pillory check` and its FILE:LINE
errors, --help, `pillory passwd`, SIGHUP reload (good and broken config),
SIGTERM, and the privilege drop to [server] user when started as root."""
import os
import pwd
import re
import shutil
import signal
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from conftest import Client, run

SUBCOMMANDS = ["serve", "check", "log", "stats", "passwd"]


def config_lines(p):
    """The config pillory would get, as a list of lines (no newlines)."""
    p.write_config()
    return p.conf.read_text().splitlines()


def write_lines(p, lines):
    p.conf.write_text("\n".join(lines) + "\n")


def line_of(lines, prefix):
    """1-based number of the first line starting with prefix."""
    for i, ln in enumerate(lines):
        if ln.startswith(prefix):
            return i + 1
    raise AssertionError(f"{prefix!r} not in config")


def replace_line(lines, prefix, new):
    i = line_of(lines, prefix) - 1
    return lines[:i] + [new] + lines[i + 1:], i + 1


def insert_after(lines, prefix, new):
    i = line_of(lines, prefix)
    return lines[:i] + [new] + lines[i:], i + 1


def wait_log(p, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in p.log():
            return
        assert p.proc.poll() is None, "daemon died: " + p.log()[-2000:]
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not logged: " + p.log()[-2000:])


def rcpt_code(p, rcpt, source="127.0.0.2", deliver=False):
    c = Client(p.connect(source=source))
    assert c.reply()[0] == 220
    assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd("MAIL FROM:<someone@outside.test>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
    if deliver and code == 250:
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: t\r\n\r\nbody\r\n.\r\n")
        assert c.reply()[0] == 250
    c.cmd("QUIT")
    c.close()
    return code


# ---- pillory check --------------------------------------------------------


def test_check_prints_effective_settings(make_pillory):
    p = make_pillory(start=False)
    p.write_config()
    r = p.cli("check")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "[server]" in out
    assert "domains = example.test, gabacho-net.jp" in out
    assert "hostname = mx.example.test" in out
    # Defaults are shown too: the *effective* settings.
    assert "max_errors = 20" in out
    assert "reject_forged_local_sender = yes" in out
    assert "trusted_networks = 127.0.0.1/32, ::1/128" in out
    assert "ok" in r.stderr


def test_check_on_missing_file():
    r = run(["-c", "/nonexistent/pillory.conf", "check"])
    assert r.returncode == 1
    assert r.stderr.startswith("/nonexistent/pillory.conf: "), r.stderr


def test_check_uses_pillory_config_env(make_pillory):
    p = make_pillory(start=False)
    p.write_config()
    r = run(["check"], env={"PILLORY_CONFIG": str(p.conf)})
    assert r.returncode == 0, r.stderr
    assert "domains = example.test, gabacho-net.jp" in r.stdout


def _bad(lines, kind):
    """Return (lines, lineno, message regex) for one kind of error."""
    if kind == "unknown key":
        lines, n = insert_after(lines, "[smtp]", "max_relays = 5")
        return lines, n, "unknown key"
    if kind == "unknown section":
        lines = lines + ["", "[nosuchsection]", "a = b"]
        return lines, len(lines) - 1, "unknown section"
    if kind == "bad boolean":
        lines, n = insert_after(lines, "[smtp]",
                                "reject_forged_local_sender = maybe")
        return lines, n, "yes or no"
    if kind == "bad duration":
        lines, n = insert_after(lines, "[smtp]", "command_timeout = 5x")
        return lines, n, "duration"
    if kind == "bad duration unit":
        lines, n = insert_after(lines, "[smtp]", "data_timeout = 3 minutes")
        return lines, n, "duration"
    if kind == "cidr host bits":
        lines, n = replace_line(lines, "trusted_networks",
                                "trusted_networks = 127.0.0.1/32, 10.0.0.1/8")
        return lines, n, "network"
    if kind == "cidr bad prefix":
        lines, n = replace_line(lines, "trusted_networks",
                                "trusted_networks = 10.0.0.0/33")
        return lines, n, "network"
    if kind == "bad endpoint":
        lines, n = replace_line(lines, "listen",
                                "listen = 127.0.0.1")
        return lines, n, "host:port"
    if kind == "bad endpoint port":
        lines, n = replace_line(lines, "listen",
                                "listen = 127.0.0.1:70000")
        return lines, n, "host:port"
    if kind == "key twice":
        lines, n = insert_after(lines, "domains", "domains = other.test")
        return lines, n, "twice"
    if kind == "out of range":
        lines, n = insert_after(lines, "[smtp]", "max_recipients = 5")
        return lines, n, "range"
    if kind == "bad size":
        lines, n = insert_after(lines, "[smtp]", "max_message_size = 25Q")
        return lines, n, "size"
    if kind == "no equals":
        lines, n = insert_after(lines, "[smtp]", "greet_pause 5s")
        return lines, n, "key = value"
    if kind == "key before section":
        lines = ["# comment", "", "domains = x.test"] + lines
        return lines, 3, "section"
    if kind == "long line":
        nets = ", ".join(f"10.{i // 256}.{i % 256}.0/24" for i in range(400))
        assert len(nets) > 4096
        lines, n = replace_line(lines, "trusted_networks",
                                "trusted_networks = " + nets)
        return lines, n, "too long"
    raise AssertionError(kind)


ERROR_KINDS = ["unknown key", "unknown section", "bad boolean",
               "bad duration", "bad duration unit", "cidr host bits",
               "cidr bad prefix", "bad endpoint", "bad endpoint port",
               "key twice", "out of range", "bad size", "no equals",
               "key before section", "long line"]


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_config_error_file_line(make_pillory, kind):
    p = make_pillory(start=False)
    lines, lineno, why = _bad(config_lines(p), kind)
    # Pad with comments and blank lines so that a wrong count shows.
    lines = ["# pillory test config", "", "; another comment"] + lines
    lineno += 3
    write_lines(p, lines)
    r = p.cli("check")
    assert r.returncode == 1, (kind, r.stdout, r.stderr)
    first = r.stderr.splitlines()[0]
    m = re.match(rf"^{re.escape(str(p.conf))}:(\d+): (.+)$", first)
    assert m, first
    assert int(m.group(1)) == lineno, (first, lines[lineno - 1][:80])
    assert re.search(why, m.group(2)), first
    assert "[server]" not in r.stdout   # no settings printed on error
    # serve refuses the same config the same way, before binding anything.
    r2 = p.cli("serve")
    assert r2.returncode == 1
    assert r2.stderr.splitlines()[0] == first


def test_line_just_under_limit_is_accepted(make_pillory):
    p = make_pillory(start=False)
    lines = config_lines(p)
    nets = ["127.0.0.1/32"]
    i = 0
    while len("trusted_networks = " + ", ".join(nets)) < 4000:
        nets.append(f"2001:db8:{i:x}:5678:9abc:def0:1234:5600/120")
        i += 1
    lines, _ = replace_line(lines, "trusted_networks",
                            "trusted_networks = " + ", ".join(nets))
    write_lines(p, lines)
    r = p.cli("check")
    assert r.returncode == 0, r.stderr
    assert "2001:db8:5:5678:9abc:def0:1234:5600/120" in r.stdout


def test_help_lists_commands_and_keys(make_pillory):
    r = run(["--help"])
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for cmd in SUBCOMMANDS:
        assert re.search(rf"^  {cmd}\b", text, re.M), cmd
    # Every key that `check` prints is documented in --help.
    p = make_pillory(start=False)
    p.write_config()
    chk = p.cli("check")
    keys = [ln.split(" =")[0] for ln in chk.stdout.splitlines()
            if " = " in ln or ln.endswith(" =")]
    assert len(keys) > 30
    for k in keys:
        assert re.search(rf"\b{re.escape(k)}\b", text), k
    for k in ["trusted_networks", "reject_forged_local_sender",
              "max_connections_per_ip", "proxy_protocol", "passwd_file",
              "aliases_file", "state_dir", "domains"]:
        assert k in text, k


def test_unknown_command_is_usage_error():
    r = run(["frobnicate"])
    assert r.returncode == 2
    assert "unknown command" in r.stderr


# ---- pillory passwd -------------------------------------------------------


def _crypt(pw, h):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(pw, h)


@pytest.mark.parametrize("args,prefix", [
    ([], "{SHA512-CRYPT}$6$"),
    (["--scheme", "SHA512-CRYPT"], "{SHA512-CRYPT}$6$"),
    (["--scheme", "SHA256-CRYPT"], "{SHA256-CRYPT}$5$"),
    (["--scheme", "BLF-CRYPT"], "{BLF-CRYPT}$2b$"),
])
def test_passwd_hash(args, prefix):
    r = run(["passwd"] + args, input="s3cret pass\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert out.startswith(prefix), out
    assert "\n" not in out
    h = out[out.index("}") + 1:]
    assert _crypt("s3cret pass", h) == h
    assert _crypt("s3cret pasS", h) != h
    again = run(["passwd"] + args, input="s3cret pass\n").stdout.strip()
    assert again != out          # a fresh salt each time


def test_passwd_refuses_empty_and_bad_scheme():
    assert run(["passwd"], input="\n").returncode != 0
    r = run(["passwd", "--scheme", "ROT13"], input="x\n")
    assert r.returncode != 0 and r.stdout == ""


# ---- signals ----------------------------------------------------------------


def test_sighup_adds_a_domain(make_pillory):
    p = make_pillory()
    assert rcpt_code(p, "postmaster@new.test") == 554
    p.sections["server"]["domains"] += ", new.test"
    p.write_config()
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "reloaded")
    assert "3 domains" in p.log()
    assert rcpt_code(p, "postmaster@new.test", deliver=True) == 250
    assert len(p.messages("postmaster", "new.test")) == 1
    # and the old domains still work; relays are still refused (and
    # recorded: the attack log outlives the config it was opened with)
    assert rcpt_code(p, "alice@example.test") == 250
    assert rcpt_code(p, "x@remote.test") == 554
    assert "attack=relay" in p.log()


def test_sighup_changes_trusted_networks(make_pillory):
    p = make_pillory()
    assert rcpt_code(p, "x@remote.test", source="127.0.0.1") == 250
    assert rcpt_code(p, "x@remote.test", source="127.0.0.2") == 554
    p.sections["relay"]["trusted_networks"] = "127.0.0.2/32"
    p.write_config()
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "reloaded")
    assert rcpt_code(p, "x@remote.test", source="127.0.0.1") == 554
    assert rcpt_code(p, "x@remote.test", source="127.0.0.2") == 250


def test_sighup_reloads_users(make_pillory):
    p = make_pillory()
    assert rcpt_code(p, "dave@example.test") == 550
    with open(p.passwd, "a") as f:
        f.write(p.passwd.read_text().splitlines()[0]
                .replace("alice@", "dave@") + "\n")
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "reloaded")
    assert rcpt_code(p, "dave@example.test") == 250


def test_sighup_with_broken_config_keeps_running(make_pillory):
    p = make_pillory()
    good = p.conf.read_text()
    p.conf.write_text(good + "[smtp]\nno_such_key = 1\n")
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "keeping the running config")
    assert re.search(rf"{re.escape(str(p.conf))}:\d+: ", p.log())
    assert p.proc.poll() is None
    assert rcpt_code(p, "alice@example.test", deliver=True) == 250
    assert rcpt_code(p, "x@remote.test") == 554
    assert len(p.messages("alice")) == 1
    # A later good config is taken.
    p.sections["server"]["domains"] += ", new.test"
    p.write_config()
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "reloaded")
    assert rcpt_code(p, "postmaster@new.test") == 250


def test_sighup_with_broken_passwd_file_keeps_running(make_pillory):
    p = make_pillory()
    p.sections["users"]["passwd_file"] = str(p.dir / "missing-passwd")
    p.write_config()
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "keeping the running config")
    assert rcpt_code(p, "alice@example.test") == 250


def test_sighup_in_the_middle_of_a_session(make_pillory):
    """A session open across the reload goes on."""
    p = make_pillory()
    c = Client(p.connect(source="127.0.0.2"))
    assert c.reply()[0] == 220
    c.cmd("EHLO c.example")
    c.cmd("MAIL FROM:<someone@outside.test>")
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    p.sections["server"]["domains"] += ", new.test"
    p.write_config()
    p.proc.send_signal(signal.SIGHUP)
    wait_log(p, "reloaded")
    assert c.cmd("RCPT TO:<postmaster@new.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: across\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert len(p.messages("alice")) == 1
    assert len(p.messages("postmaster", "new.test")) == 1


def test_sigterm_exits_zero(make_pillory):
    p = make_pillory()
    c = Client(p.connect())
    assert c.reply()[0] == 220           # an open session does not block
    rc = p.stop(signal.SIGTERM)
    assert rc == 0, p.log()[-2000:]
    assert "stopped" in p.log()
    c.close()


def test_sigint_exits_zero(make_pillory):
    p = make_pillory()
    assert p.stop(signal.SIGINT) == 0


# ---- privilege drop ---------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_runs_as_server_user(make_pillory):
    nobody = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="pillory-priv-"))
    try:
        top.chmod(0o755)
        state = top / "var"
        p = make_pillory(start=False, server__user="nobody",
                         server__state_dir=str(state))
        p.start()
        status = Path(f"/proc/{p.proc.pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        assert uids == [str(nobody.pw_uid)] * 4, status
        assert gids == [str(nobody.pw_gid)] * 4, status
        groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
        assert groups in ([], [str(nobody.pw_gid)]), status
        for sub in ("", "tmp", "queue", "mail"):
            st = (state / sub).stat()
            assert st.st_uid == nobody.pw_uid, sub
        # delivery still works, and the files belong to nobody
        c = Client(p.connect())
        assert c.reply()[0] == 220
        c.cmd("EHLO c.example")
        c.cmd("MAIL FROM:<someone@outside.test>")
        assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
        assert c.cmd("RCPT TO:<x@remote.test>")[0] == 250   # trusted
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: as nobody\r\n\r\nx\r\n.\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        c.cmd("QUIT")
        msgs = list((state / "mail" / "example.test" / "alice" / "new")
                    .iterdir())
        assert len(msgs) == 1
        assert msgs[0].stat().st_uid == nobody.pw_uid
        assert (state / "mail" / "example.test" / "alice").stat().st_uid \
            == nobody.pw_uid
        # (The queue may be rewriting ID.env through ID.env.tmp right now.)
        q = [f for f in (state / "queue").iterdir()
             if not f.name.endswith(".tmp")]
        assert len(q) == 2 and all(f.stat().st_uid == nobody.pw_uid
                                   for f in q)
        assert p.stop() == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_unknown_server_user_refuses_to_start(make_pillory):
    p = make_pillory(start=False, server__user="no-such-user-pillory")
    p.write_config()
    r = p.cli("serve")
    assert r.returncode == 1
    assert "no-such-user-pillory" in r.stderr
