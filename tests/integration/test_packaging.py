"""Debian packages (README "Installing"): `dpkg-buildpackage -b -us -uc`
in a scratch copy of the tree, built once for the module (it is the slow
part, about half a minute), then the control fields (`dpkg-deb -f`), the
file lists (`dpkg-deb -c`), the maintainer scripts, the program from the
package, and lintian without errors."""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg-buildpackage") is None or
    shutil.which("dh") is None, reason="needs dpkg-dev and debhelper")

PACKAGES = ("pillory", "pillory-bin", "pillory-postfix")


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    top = tmp_path_factory.mktemp("deb")
    src = top / "pillory"
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "-co",
         "--exclude-standard"], capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if not name or name.startswith("build/"):
            continue
        s = ROOT / name
        if not s.is_file():
            continue
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s, src / name)
    r = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    found = {}
    for p in PACKAGES:
        debs = list(top.glob(f"{p}_*.deb"))
        assert len(debs) == 1, (p, list(top.iterdir()))
        found[p] = debs[0]
    found["changes"] = next(top.glob("pillory_*.changes"))
    return found


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True,
                         text=True, check=True).stdout
    files = {}
    for line in out.splitlines():
        parts = line.split()
        path = parts[5].lstrip(".")
        files[path] = parts[7] if len(parts) > 7 else None
    return files


def test_mta_package_relations(debs):
    deb = debs["pillory"]
    for f in ("Provides", "Conflicts", "Replaces"):
        assert field(deb, f) == "mail-transport-agent", f
    assert field(deb, "Depends").startswith("pillory-bin (= ")
    assert field(deb, "Section") == "mail"


def test_companion_beside_postfix(debs):
    deb = debs["pillory-postfix"]
    for f in ("Provides", "Conflicts", "Replaces"):
        assert "mail-transport-agent" not in field(deb, f), f
    assert "postfix" in field(deb, "Depends")
    files = contents(deb)
    assert "/lib/systemd/system/pillory-import.service" in files
    assert "/lib/systemd/system/pillory-policy.service" in files
    assert not any("sendmail" in p or "mailq" in p for p in files)
    assert "/usr/sbin/pillory" not in files


def test_file_lists(debs):
    mta = contents(debs["pillory"])
    assert mta["/usr/sbin/sendmail"] == "pillory"
    assert mta["/usr/bin/mailq"] == "../sbin/pillory"
    assert mta["/usr/bin/newaliases"] == "../sbin/pillory"
    assert mta["/usr/sbin/newaliases"] == "pillory"
    assert mta["/usr/lib/sendmail"] == "../sbin/pillory"
    assert "/lib/systemd/system/pillory.service" in mta
    assert mta["/usr/share/man/man8/sendmail.8.gz"] == "pillory.8.gz"
    bin_ = contents(debs["pillory-bin"])
    for p in ("/usr/sbin/pillory", "/etc/pillory/pillory.conf",
              "/usr/share/man/man8/pillory.8.gz",
              "/usr/share/man/man5/pillory.conf.5.gz"):
        assert p in bin_, p
    assert "adduser" in field(debs["pillory-bin"], "Depends")
    assert "libsystemd0" in field(debs["pillory-bin"], "Depends")


def test_maintainer_scripts(debs, tmp_path):
    subprocess.run(["dpkg-deb", "-e", str(debs["pillory-bin"]),
                    str(tmp_path / "bin")], check=True)
    post = (tmp_path / "bin/postinst").read_text()
    assert "adduser --system" in post and "/var/lib/pillory" in post
    assert "chmod 0711 /var/lib/pillory" in post
    for script in (tmp_path / "bin").iterdir():
        if script.name in ("postinst", "prerm", "postrm", "preinst"):
            subprocess.run(["sh", "-n", str(script)], check=True)
    assert "/etc/pillory/pillory.conf" in \
        (tmp_path / "bin/conffiles").read_text()
    subprocess.run(["dpkg-deb", "-e", str(debs["pillory"]),
                    str(tmp_path / "mta")], check=True)
    post = (tmp_path / "mta/postinst").read_text()
    assert "deb-systemd-helper enable 'pillory.service'" in post


def test_packaged_program_runs(debs, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(debs["pillory-bin"]),
                    str(tmp_path)], check=True)
    r = subprocess.run([str(tmp_path / "usr/sbin/pillory"), "-c",
                        str(tmp_path / "etc/pillory/pillory.conf"), "check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(shutil.which("lintian") is None,
                    reason="lintian not installed")
def test_lintian_no_errors(debs):
    r = subprocess.run(["lintian", "--allow-root", str(debs["changes"])],
                       capture_output=True, text=True, timeout=600)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert errors == [], r.stdout
