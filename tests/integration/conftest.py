"""Integration test harness: a fresh pillory daemon per test, on free
loopback ports, driven by real clients. The binary is $PILLORY_BIN (make
check uses the AddressSanitizer + UBSan build)."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PILLORY_BIN", str(ROOT / "build" / "asan" / "pillory"))
PASSWORD = "correct horse battery staple"

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:symbolize=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def run(args, input=None, check=False, env=None):
    e = dict(os.environ)
    e.update(SAN_ENV)
    if env:
        e.update(env)
    return subprocess.run([BIN] + args, input=input, capture_output=True,
                          text=True, check=check, env=e, timeout=120)


_HASH_CACHE = {}


def password_hash(pw=PASSWORD):
    if pw not in _HASH_CACHE:
        r = run(["passwd"], input=pw + "\n", check=True)
        _HASH_CACHE[pw] = r.stdout.strip()
    return _HASH_CACHE[pw]


class Pillory:
    """One daemon: config, state dir, ports, log."""

    def __init__(self, tmp: Path, **overrides):
        self.dir = tmp
        self.dir.chmod(0o755)
        self.state = tmp / "var"
        self.port = free_port()
        self.proxy_port = free_port()
        self.conf = tmp / "pillory.conf"
        self.logfile = tmp / "pillory.log"
        self.passwd = tmp / "passwd"
        self.aliases = tmp / "aliases"
        h = password_hash()
        self.passwd.write_text(
            f"alice@example.test:{h}\n"
            f"bob@example.test:{h}::::extra:fields\n"
            f"carol@gabacho-net.jp:{h}\n")
        self.aliases.write_text(
            "# test aliases\n"
            "info@example.test: alice, bob@example.test\n"
            "abuse: alice@example.test\n"
            "fwd@example.test: someone@remote.test\n")
        self.sections = {
            "server": {
                "hostname": "mx.example.test",
                "domains": "example.test, gabacho-net.jp",
                "state_dir": str(self.state),
                "user": "",
            },
            "smtp": {
                "listen": f"127.0.0.1:{self.port}, 127.0.0.1:{self.proxy_port}",
                "proxy_protocol": f"127.0.0.1:{self.proxy_port}",
            },
            "relay": {"trusted_networks": "127.0.0.1/32, ::1/128"},
            "users": {"passwd_file": str(self.passwd),
                      "aliases_file": str(self.aliases)},
            # A DNS server that never answers quickly: port 9 discards.
            "delivery": {"dns_servers": "127.0.0.1:9"},
        }
        for key, value in overrides.items():
            sec, k = key.split("__", 1)
            self.sections.setdefault(sec, {})[k] = value
        self.proc = None
        self.log_start = 0

    def write_config(self):
        lines = []
        for sec, kv in self.sections.items():
            lines.append(f"[{sec}]")
            lines += [f"{k} = {v}" for k, v in kv.items()]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, wait=True):
        self.write_config()
        e = dict(os.environ)
        e.update(SAN_ENV)
        self.log_start = self.logfile.stat().st_size \
            if self.logfile.exists() else 0
        self.log_fp = open(self.logfile, "ab")
        self.proc = subprocess.Popen([BIN, "-c", str(self.conf), "serve"],
                                     stdout=self.log_fp, stderr=self.log_fp,
                                     env=e)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pillory exited: " + self.log())
            if "ready" in self.log()[self.log_start:]:
                return
            time.sleep(0.02)
        raise RuntimeError("pillory did not start: " + self.log())

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def cli(self, *args, input=None):
        return run(["-c", str(self.conf)] + list(args), input=input)

    def connect(self, port=None, source="127.0.0.1", timeout=10):
        s = socket.create_connection(("127.0.0.1", port or self.port),
                                     timeout=timeout,
                                     source_address=(source, 0))
        return s

    def maildir(self, user, domain="example.test"):
        return self.state / "mail" / domain / user / "new"

    def messages(self, user, domain="example.test"):
        d = self.maildir(user, domain)
        if not d.exists():
            return []
        return sorted(p.read_bytes() for p in d.iterdir())

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log_fp.close()
        return rc

    def assert_clean(self):
        text = self.log()
        assert "AddressSanitizer" not in text, text
        assert "runtime error" not in text, text
        assert "fatal:" not in text, text


@pytest.fixture
def make_pillory(tmp_path):
    """Factory: make_pillory(**{"smtp__greet_pause": "1s"}) -> started."""
    made = []

    def factory(start=True, **overrides):
        d = tmp_path / f"p{len(made)}"
        d.mkdir()
        p = Pillory(d, **overrides)
        made.append(p)
        if start:
            p.start()
        return p

    yield factory
    for p in made:
        if p.proc is not None and p.proc.poll() is None:
            rc = p.stop()
            assert rc == 0, f"daemon exit {rc}: {p.log()[-3000:]}"
        p.assert_clean()


@pytest.fixture
def pillory(make_pillory):
    return make_pillory()


class Client:
    """A raw SMTP client: exact bytes out, reply lines in."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending " + repr(self.buf))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            ln = self.line()
            texts.append(ln[4:])
            if len(ln) < 4 or ln[3] != "-":
                return int(ln[:3]), texts

    def cmd(self, text: str):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closed the connection (after any data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def client(pillory):
    """A connected raw client that has read the greeting."""
    c = Client(pillory.connect())
    code, _ = c.reply()
    assert code == 220
    yield c
    c.close()


def proxy_v1(src, dst="127.0.0.1", sport=40000, dport=25):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()
