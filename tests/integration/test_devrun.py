"""`make run` (tools/devrun) as root from a copy of the tree: in a private
(0700) directory, where the unprivileged user cannot reach ./var, the dev
server stays root and works; in an open directory it drops to nobody. Each
time it answers SMTP, delivers to the dev postmaster alias, and its config
passes `pillory check` without a warning."""
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def copy_tree(dest: Path):
    """The sources, tools and release build, with times kept so that the
    make inside devrun finds build/pillory up to date."""
    for name in ("Makefile", "tools", "src"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, copy_function=shutil.copy2)
        else:
            shutil.copy2(src, dest / name)
    if (ROOT / "build" / "obj").is_dir():
        shutil.copytree(ROOT / "build" / "obj", dest / "build" / "obj",
                        copy_function=shutil.copy2)
        shutil.copy2(ROOT / "build" / "pillory", dest / "build" / "pillory")


def uid_of(pid):
    for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
        if ln.startswith("Uid:"):
            return int(ln.split()[1])
    raise AssertionError("no Uid line")


def run_devrun(tree: Path):
    ports = {k: free_port() for k in ("SMTP", "SUBMISSION", "SMTPS", "POP3",
                                      "POP3S")}
    env = dict(os.environ)
    env.update({f"PILLORY_DEV_{k}": str(v) for k, v in ports.items()})
    out = open(tree / "devrun.log", "wb")
    proc = subprocess.Popen(["tools/devrun"], cwd=tree, stdout=out,
                            stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 600    # may have to compile
    log = ""
    while time.monotonic() < deadline:
        log = (tree / "devrun.log").read_text(errors="replace")
        if " ready: " in log:
            break
        assert proc.poll() is None, "devrun exited: " + log[-3000:]
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("devrun did not start: " + log[-3000:])
    return proc, ports, out


def stop(proc, out):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
    out.close()
    return rc


def exercise(tree: Path, ports):
    with smtplib.SMTP("127.0.0.1", ports["SMTP"], timeout=10) as s:
        code, _ = s.noop()
        assert code == 250
        s.sendmail("someone@outside.test", ["postmaster@example.test"],
                   "Subject: hello postmaster\r\n\r\nhi\r\n")
    new = tree / "var" / "state" / "mail" / "example.test" / "alice" / "new"
    msgs = [p.read_bytes() for p in new.iterdir()]
    assert len(msgs) == 1
    assert msgs[0].startswith(b"Return-Path: <someone@outside.test>\n"
                              b"Delivered-To: alice@example.test\n")
    r = subprocess.run([str(tree / "build" / "pillory"), "-c",
                        str(tree / "var" / "pillory.conf"), "check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "warning:" not in r.stderr, r.stderr


def test_make_run_in_private_directory(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    tree = home / "pillory"
    tree.mkdir()
    copy_tree(tree)
    proc, ports, out = run_devrun(tree)
    try:
        log = (tree / "devrun.log").read_text()
        assert "not reachable by 'nobody'" in log, log
        assert uid_of(proc.pid) == 0
        exercise(tree, ports)
    finally:
        assert stop(proc, out) == 0
    assert "Permission denied" not in (tree / "devrun.log").read_text()


def test_make_run_in_open_directory_drops_to_nobody():
    top = Path(tempfile.mkdtemp(prefix="pillory-devrun-", dir="/tmp"))
    try:
        top.chmod(0o755)
        tree = top / "pillory"
        tree.mkdir()
        copy_tree(tree)
        # An aliases file from an older `make run`, without postmaster:
        # devrun adds the alias (exercise() checks for no warning).
        (tree / "var").mkdir()
        (tree / "var" / "aliases").write_text("abuse: postmaster\n")
        proc, ports, out = run_devrun(tree)
        try:
            assert uid_of(proc.pid) == pwd.getpwnam("nobody").pw_uid
            assert "postmaster: alice@example.test" in \
                (tree / "var" / "aliases").read_text()
            exercise(tree, ports)
        finally:
            assert stop(proc, out) == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_deps_names_missing_packages_when_not_root():
    top = Path(tempfile.mkdtemp(prefix="pillory-deps-", dir="/tmp"))
    try:
        top.chmod(0o755)
        shutil.copytree(ROOT / "tools", top / "tools",
                        copy_function=shutil.copy2)
        for f in (top / "tools").iterdir():
            f.chmod(0o755)
        pk = top / "tools" / "packages"
        # Everything listed is installed here: nothing to do, even as root
        # (no apt-get run).
        r = subprocess.run([str(top / "tools" / "deps"), "check"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        pk.write_text(pk.read_text() + "pillory-no-such-package-x\n")
        r = subprocess.run(["runuser", "-u", "nobody", "--",
                            str(top / "tools" / "deps"), "check"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1
        assert ("missing Debian packages: pillory-no-such-package-x"
                in r.stderr), r.stderr
        # The [build] list does not include [check] packages.
        r = subprocess.run(["runuser", "-u", "nobody", "--",
                            str(top / "tools" / "deps"), "build"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([str(top / "tools" / "deps"), "frob"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2
    finally:
        shutil.rmtree(top, ignore_errors=True)
