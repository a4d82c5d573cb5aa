"""Installation (README "Installing"): `make install` and `make uninstall`
into a scratch DESTDIR with the default and the /usr prefix, the man pages
(rendered by man(1) without warnings, pillory.conf(5) listing every key
`pillory --help` lists, in the same order), the sample config passing
`check`, the systemd units clean under `systemd-analyze verify`, and the
daemon's sd_notify(3) readiness, reload and stop messages on a real
notification socket."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, ROOT, run

UNITS = ("pillory.service", "pillory-import.service",
         "pillory-policy.service")


def make(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run(["make", "-s", "-C", str(ROOT)] + list(args),
                       capture_output=True, text=True, env=e, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_install_default_prefix(tmp_path):
    d = tmp_path / "root"
    make("install", f"DESTDIR={d}")
    pre = d / "usr/local"
    binary = pre / "sbin/pillory"
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert (binary.stat().st_mode & 0o777) == 0o755
    for name in ("sendmail", "mailq", "newaliases"):
        link = pre / "sbin" / name
        assert link.is_symlink() and link.resolve() == binary.resolve()
    for name in ("mailq", "newaliases"):
        link = pre / "bin" / name
        assert link.is_symlink()
        assert os.readlink(link) == "/usr/local/sbin/pillory"
    assert (pre / "share/man/man8/pillory.8").is_file()
    assert (pre / "share/man/man5/pillory.conf.5").is_file()
    assert os.readlink(pre / "share/man/man8/sendmail.8") == "pillory.8"
    # autotools' rule: /usr/local keeps its config under PREFIX/etc
    conf = pre / "etc/pillory/pillory.conf"
    assert conf.read_text() == (ROOT / "etc/pillory.conf").read_text()
    for u in UNITS:
        text = (pre / "lib/systemd/system" / u).read_text()
        assert "@SBINDIR@" not in text and "@SYSCONFDIR@" not in text
        assert "/usr/local/sbin/pillory" in text
    svc = (pre / "lib/systemd/system/pillory.service").read_text()
    assert "PILLORY_CONFIG=/usr/local/etc/pillory/pillory.conf" in svc
    assert not (d / "etc").exists()


def test_install_usr_keeps_config_and_uninstalls(tmp_path):
    d = tmp_path / "root"
    make("install", f"DESTDIR={d}", "PREFIX=/usr")
    conf = d / "etc/pillory/pillory.conf"
    assert conf.is_file()
    assert (d / "lib/systemd/system/pillory.service").is_file()
    assert (d / "usr/sbin/pillory").is_file()
    # An admin's config is never overwritten.
    conf.write_text("[server]\ndomains = admin.example\n")
    make("install", f"DESTDIR={d}", "PREFIX=/usr")
    assert conf.read_text() == "[server]\ndomains = admin.example\n"
    make("uninstall", f"DESTDIR={d}", "PREFIX=/usr")
    left = sorted(str(p.relative_to(d)) for p in d.rglob("*")
                  if p.is_file() or p.is_symlink())
    assert left == ["etc/pillory/pillory.conf"], left


def test_sample_config_passes_check():
    r = run(["-c", str(ROOT / "etc/pillory.conf"), "check"])
    assert r.returncode == 0, r.stderr
    assert "domains = example.org" in r.stdout


def rendered(page):
    e = dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8")
    e.pop("MAN_KEEP_FORMATTING", None)
    r = subprocess.run(["man", "--warnings", "-l", str(page)],
                       capture_output=True, text=True, env=e, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return r.stdout


def help_keys():
    out = run(["--help"]).stdout
    keys, sec = [], None
    for line in out.split("config keys", 1)[1].splitlines():
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^  (\w+)\s", line)
        if m and sec:
            keys.append((sec, m.group(1)))
    return keys


def test_man_pages_render_and_list_every_key():
    make("man")
    text = rendered(ROOT / "build/man/pillory.conf.5")
    keys_part = text.split("\nKEYS\n", 1)[1].split("\nEXAMPLES\n", 1)[0]
    keys, sec = [], None
    for line in keys_part.splitlines():
        m = re.match(r"^   \[(\w+)\]$", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^       (\w+)(\s|$)", line)
        if m and sec:
            keys.append((sec, m.group(1)))
    expected = help_keys()
    assert len(expected) > 40
    assert keys == expected
    assert "Default: /var/lib/pillory" in keys_part
    page8 = rendered(ROOT / "build/man/pillory.8")
    for word in ("SENDMAIL INTERFACE", "SIGNALS", "FILES", "EXIT STATUS",
                 "EXAMPLES", "sendmail", "mailq", "newaliases", "SIGHUP",
                 "EX_UNAVAILABLE"):
        assert word in page8, word
    # every command --help lists is in pillory(8)
    cmds = re.findall(r"^  (\w+)", run(["--help"]).stdout.split(
        "options:")[0], re.M)
    assert "serve" in cmds and "sendmail" in cmds
    for c in cmds:
        assert re.search(rf"^       {c}\b", page8, re.M), c


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path):
    # Installed for real (no DESTDIR) under a scratch prefix, so every
    # ExecStart path exists as systemd-analyze checks it.
    pre = tmp_path / "usr"
    units = tmp_path / "units"
    make("install", f"PREFIX={pre}", f"SYSCONFDIR={tmp_path}/etc",
         f"UNITDIR={units}")
    e = dict(os.environ, MANPATH=str(pre / "share/man"))
    r = subprocess.run(["systemd-analyze", "verify"] +
                       [str(units / u) for u in UNITS],
                       capture_output=True, text=True, env=e, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    svc = (units / "pillory.service").read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                 "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/pillory", "PrivateTmp=yes",
                 "ProtectHome=yes", "RestrictAddressFamilies=AF_UNIX "
                 "AF_INET AF_INET6", "SystemCallFilter=@system-service",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"):
        assert line in svc, line
    imp = (units / "pillory-import.service").read_text()
    assert "import --format journal-json --follow -" in imp


def test_sd_notify_ready_reload_stopping(make_pillory, tmp_path):
    """The daemon speaks systemd's notify protocol on $NOTIFY_SOCKET."""
    path = str(tmp_path / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(20)
    p = make_pillory(start=False)
    old = os.environ.get("NOTIFY_SOCKET")
    os.environ["NOTIFY_SOCKET"] = path
    try:
        p.start()
    finally:
        if old is None:
            del os.environ["NOTIFY_SOCKET"]
        else:
            os.environ["NOTIFY_SOCKET"] = old

    def msg():
        return ns.recv(4096).decode()

    assert msg() == "READY=1"
    p.proc.send_signal(signal.SIGHUP)
    assert msg() == "RELOADING=1"
    assert msg() == "READY=1"
    assert p.stop() == 0
    assert msg() == "STOPPING=1"
    ns.close()
