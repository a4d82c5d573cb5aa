"""`pillory check` verifies what the config names, not only its syntax:
the TLS certificate and key (OpenSSL), state_dir, the passwd-file and
aliases (their own parsers, FILE:LINE), with warnings for a world-readable
passwd-file, alias targets that go nowhere and a postmaster without an
alias (also at start-up); and the [attacklog] ban_* keys are refused as
moved to [defense]."""
import re
import subprocess

import pytest

from conftest import run


def openssl_pair(d, name):
    cert, key = d / f"{name}.crt", d / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}.example.test", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)
    key.chmod(0o600)
    return cert, key


@pytest.fixture
def p(make_pillory):
    """A config that checks clean: postmaster aliased, passwd-file 0600."""
    pl = make_pillory(start=False)
    pl.passwd.chmod(0o600)
    pl.aliases.write_text(pl.aliases.read_text() +
                          "postmaster: alice@example.test\n")
    return pl


def check(pl):
    pl.write_config()
    return pl.cli("check")


def test_clean_config_has_no_warning(p):
    cert, key = openssl_pair(p.dir, "good")
    p.sections["tls"] = {"cert": str(cert), "key": str(key)}
    r = check(p)
    assert r.returncode == 0, r.stderr
    assert "warning:" not in r.stderr, r.stderr
    assert "0 errors, 0 warnings" in r.stderr
    assert "[server]" in r.stdout


def test_missing_certificate(p):
    _, key = openssl_pair(p.dir, "good")
    missing = p.dir / "nope.crt"
    p.sections["tls"] = {"cert": str(missing), "key": str(key)}
    r = check(p)
    assert r.returncode == 1
    assert f"[tls] cert: {missing}: No such file or directory" in r.stderr
    assert "[server]" not in r.stdout


def test_missing_key(p):
    cert, _ = openssl_pair(p.dir, "good")
    p.sections["tls"] = {"cert": str(cert), "key": str(p.dir / "no.key")}
    r = check(p)
    assert r.returncode == 1
    assert f"[tls] key: {p.dir / 'no.key'}: No such file" in r.stderr


def test_key_does_not_match_certificate(p):
    cert1, _ = openssl_pair(p.dir, "one")
    _, key2 = openssl_pair(p.dir, "two")
    p.sections["tls"] = {"cert": str(cert1), "key": str(key2)}
    r = check(p)
    assert r.returncode == 1
    assert re.search(rf"\[tls\] key: {re.escape(str(key2))} does not match "
                     rf"the certificate in \[tls\] cert "
                     rf"{re.escape(str(cert1))}", r.stderr), r.stderr
    # The server refuses the same pair at start-up.
    assert p.cli("serve").returncode == 1


def test_garbage_certificate_and_key(p):
    bad = p.dir / "garbage.pem"
    bad.write_text("not a certificate\n")
    p.sections["tls"] = {"cert": str(bad), "key": str(bad)}
    r = check(p)
    assert r.returncode == 1
    assert f"[tls] cert: {bad}: no PEM certificate" in r.stderr
    assert f"[tls] key: {bad}: no PEM private key" in r.stderr


def test_state_dir_parent_missing(p):
    sd = p.dir / "no" / "such" / "state"
    p.sections["server"]["state_dir"] = str(sd)
    r = check(p)
    assert r.returncode == 1
    assert (f"[server] state_dir: {sd} does not exist, nor does its "
            f"parent {sd.parent}") in r.stderr, r.stderr


def test_state_dir_missing_with_parent_is_fine(p):
    p.sections["server"]["state_dir"] = str(p.dir / "fresh")
    r = check(p)
    assert r.returncode == 0, r.stderr


def test_state_dir_is_a_file(p):
    f = p.dir / "afile"
    f.write_text("x")
    p.sections["server"]["state_dir"] = str(f)
    r = check(p)
    assert r.returncode == 1
    assert f"[server] state_dir: {f}: not a directory" in r.stderr
    p.sections["server"]["state_dir"] = str(f / "state")
    r = check(p)
    assert r.returncode == 1
    assert f"parent {f} is not a directory" in r.stderr, r.stderr


def test_bad_passwd_line_file_line(p):
    lines = p.passwd.read_text().splitlines()
    lines.insert(1, "# a comment")
    lines.insert(2, "dave@example.test")      # no password field
    p.passwd.write_text("\n".join(lines) + "\n")
    r = check(p)
    assert r.returncode == 1
    assert re.search(rf"^{re.escape(str(p.passwd))}:3: ", r.stderr,
                     re.M), r.stderr


def test_bad_aliases_line_file_line(p):
    p.aliases.write_text(p.aliases.read_text() + "pipe: |/bin/sh\n")
    n = len(p.aliases.read_text().splitlines())
    r = check(p)
    assert r.returncode == 1
    assert re.search(rf"^{re.escape(str(p.aliases))}:{n}: ", r.stderr,
                     re.M), r.stderr


def test_every_error_is_reported(p):
    p.sections["server"]["state_dir"] = "/nonexistent-parent-x/state"
    p.sections["tls"] = {"cert": "/nonexistent.crt", "key": "/nonexistent.k"}
    p.passwd.write_text("broken\n")
    r = check(p)
    assert r.returncode == 1
    assert "[server] state_dir" in r.stderr
    assert "[tls] cert" in r.stderr and "[tls] key" in r.stderr
    assert f"{p.passwd}:1:" in r.stderr
    assert "4 errors" in r.stderr


def test_world_readable_passwd_file_warns(p):
    p.passwd.chmod(0o644)
    r = check(p)
    assert r.returncode == 0, r.stderr
    assert (f"warning: [users] passwd_file: {p.passwd} is world-readable"
            in r.stderr), r.stderr
    p.passwd.chmod(0o640)
    assert "world-readable" not in check(p).stderr


def test_alias_to_nobody_warns_with_file_line(p):
    p.aliases.write_text(p.aliases.read_text() +
                         "sales@example.test: alice, ghost, x@remote.test\n"
                         "team: bob, phantom@gabacho-net.jp\n")
    n = len(p.aliases.read_text().splitlines())
    r = check(p)
    assert r.returncode == 0, r.stderr
    err = r.stderr
    assert (f"{p.aliases}:{n - 1}: warning: alias sales@example.test: "
            f"target ghost@example.test is neither a local user, an alias "
            f"nor an outside address") in err, err
    assert f"{p.aliases}:{n}: warning: alias team: target " \
        f"phantom@gabacho-net.jp" in err, err
    # bob exists in example.test only: the bare name covers both domains.
    assert "target bob@gabacho-net.jp" in err, err
    assert "target bob@example.test" not in err
    # Users, other aliases, postmaster and outside addresses are fine.
    for ok in ("alice@example.test", "x@remote.test", "someone@remote.test"):
        assert f"target {ok} " not in err, err


def test_postmaster_without_alias_warns_at_check_and_start(make_pillory):
    pl = make_pillory(start=False)     # conftest aliases have no postmaster
    pl.passwd.chmod(0o600)
    r = check(pl)
    assert r.returncode == 0, r.stderr
    for d in ("example.test", "gabacho-net.jp"):
        assert (f"warning: [users] aliases_file: postmaster@{d} has no "
                f"alias and is not a user" in r.stderr), r.stderr
    pl.start()
    log = pl.log()
    assert "postmaster@example.test has no alias" in log, log
    assert "postmaster@gabacho-net.jp has no alias" in log, log


def test_postmaster_user_or_domain_alias_is_enough(make_pillory):
    pl = make_pillory(start=False)
    pl.passwd.chmod(0o600)
    pl.passwd.write_text(pl.passwd.read_text() +
                         pl.passwd.read_text().splitlines()[0].replace(
                             "alice@", "postmaster@") + "\n")
    pl.aliases.write_text(pl.aliases.read_text() +
                          "postmaster@gabacho-net.jp: carol@gabacho-net.jp\n")
    r = check(pl)
    assert r.returncode == 0, r.stderr
    assert "postmaster@" not in r.stderr, r.stderr
    pl.start()
    assert "postmaster@" not in pl.log()


@pytest.mark.parametrize("key,value", [("ban_after", "20"),
                                       ("ban_window", "10m"),
                                       ("ban_time", "1h")])
def test_ban_keys_moved_to_defense(p, key, value):
    p.write_config()
    lines = p.conf.read_text().splitlines()
    lines += ["", "[attacklog]", "retention = 30d", f"{key} = {value}"]
    p.conf.write_text("\n".join(lines) + "\n")
    r = p.cli("check")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == (f"{p.conf}:{len(lines)}: [attacklog] {key} moved to "
                     f"[defense] {key}"), first
    r2 = p.cli("serve")
    assert r2.returncode == 1
    assert r2.stderr.splitlines()[0] == first


def test_help_lists_ban_keys_under_defense_only():
    r = run(["--help"])
    assert r.returncode == 0
    section, seen = None, []
    for line in r.stdout.splitlines():
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        elif re.match(r"^  ban_(after|window|time)\b", line):
            seen.append(section)
    assert seen == ["defense"] * 3, seen


@pytest.mark.parametrize("line,section,message", [
    ("max_recipents = 5", "smtp",
     'unknown key "max_recipents" in [smtp]; did you mean "max_recipients"?'),
    ("ban_aftr = 5", "smtp",
     'unknown key "ban_aftr" in [smtp]; did you mean "ban_after" in '
     '[defense]?'),
    ("frobnicate = 5", "smtp", 'unknown key "frobnicate" in [smtp]'),
])
def test_unknown_key_suggests_the_nearest(p, line, section, message):
    p.write_config()
    lines = p.conf.read_text().splitlines()
    n = lines.index(f"[{section}]") + 2
    lines.insert(n - 1, line)
    p.conf.write_text("\n".join(lines) + "\n")
    r = p.cli("check")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == f"{p.conf}:{n}: {message}", first
    # serve refuses it with the same words.
    r2 = p.cli("serve")
    assert r2.returncode == 1
    assert r2.stderr.splitlines()[0] == first


def test_unknown_section_suggests_the_nearest(p):
    p.write_config()
    lines = p.conf.read_text().splitlines() + ["", "[pulbish]", "recent = 5"]
    p.conf.write_text("\n".join(lines) + "\n")
    r = p.cli("check")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == (f"{p.conf}:{len(lines) - 1}: unknown section "
                     f"[pulbish]; did you mean [publish]?"), first


def test_check_prints_sizes_and_durations_as_written(p):
    p.sections.setdefault("smtp", {}).update(
        {"max_message_size": "10M", "command_timeout": "90s"})
    p.sections.setdefault("delivery", {}).update({"max_queue_time": "2w"})
    r = check(p)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "max_message_size = 10M" in out, r.stdout
    assert "command_timeout = 90s" in out
    assert "max_queue_time = 14d" in out
    assert "pop_before_smtp = 10m" in out        # a default
    assert not any(re.search(r"= \d{6,}$", x) for x in out), r.stdout
