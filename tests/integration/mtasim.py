"""Remote side of outbound delivery for the queue tests: a local dnsmasq
answering MX, A and AAAA records for test domains, and scriptable SMTP
receivers on loopback addresses that answer 4xx, 5xx or 250 per
recipient, offer or withhold ESMTP extensions (PIPELINING, SIZE,
8BITMIME, STARTTLS, AUTH), and record every transaction they take."""
import base64
import socket
import ssl
import struct
import subprocess
import threading
import time

DNSMASQ = "/usr/sbin/dnsmasq"


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port, hosts):
    """True when a TCP listener can bind port on every host."""
    for h in hosts:
        fam = socket.AF_INET6 if ":" in h else socket.AF_INET
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.bind((h, port))
        except OSError:
            return False
    return True


def dns_query(port, name, qtype=1, timeout=1.0):
    """One UDP query to 127.0.0.1:port; returns the rcode or None."""
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(q, ("127.0.0.1", port))
            r, _ = s.recvfrom(4096)
        except OSError:
            return None
    return r[3] & 0xf


class Dnsmasq:
    """dnsmasq authoritative for *.test from the given records: mx is a
    list of (domain, host, pref), hosts of (name, "ipv4,ipv6..."), null_mx
    a list of domains with an RFC 7505 null MX."""

    def __init__(self, logdir, mx=(), hosts=(), null_mx=()):
        records = [f"--mx-host={d},{h},{p}" for d, h, p in mx]
        records += [f"--host-record={n},{a}" for n, a in hosts]
        # MX RDATA: preference 0, root name: "0 ." (RFC 7505)
        records += [f"--dns-rr={d},15,000000" for d in null_mx]
        self.log = open(logdir / "dnsmasq.log", "wb")
        for _ in range(5):      # the free port may be taken meanwhile
            self.port = free_udp_port()
            args = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
                    f"--port={self.port}", "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--conf-file=/dev/null",
                    "--user=root", "--local=/test/", "--no-negcache",
                    "--log-queries"] + records
            self.proc = subprocess.Popen(args, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while dns_query(self.port, "ready.test") is None:
                if self.proc.poll() is not None or time.time() > deadline:
                    break
                time.sleep(0.05)
            else:
                # Answered, and by ours: it did not die on a taken port.
                time.sleep(0.1)
                if self.proc.poll() is None:
                    return
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def make_cert(directory):
    """A self-signed certificate for the receivers' STARTTLS."""
    cert, key = directory / "rx.crt", directory / "rx.key"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-subj", "/CN=mx.remote.test", "-days",
                        "2", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
    return cert, key


class Receiver:
    """A threaded SMTP server on (host, port).

    rcpt: {address: [reply, reply, ...]} consumed one per RCPT of that
    address, the last repeating; others get "250 2.1.5 Ok".
    data: list of replies to the end of DATA, the last repeating.
    ehlo: the extension lines offered; tls=(cert, key) adds STARTTLS;
    auth={user: password} adds AUTH PLAIN LOGIN. ehlo_reply refuses EHLO
    (HELO fallback). dot_delay sleeps before answering the final dot.
    tls_broken offers STARTTLS, says 220 and hangs up."""

    def __init__(self, host, port, name="mx.remote.test", ehlo=None,
                 rcpt=None, data=None, tls=None, auth=None, ehlo_reply=None,
                 mail_reply="250 2.1.0 Ok", dot_delay=0.0,
                 greeting=None, tls_broken=False, auth_mechs="PLAIN LOGIN"):
        self.host, self.port, self.name = host, port, name
        self.ext = list(ehlo) if ehlo is not None else [
            "PIPELINING", "SIZE 10485760", "8BITMIME",
            "ENHANCEDSTATUSCODES"]
        self.rcpt = {k: list(v) for k, v in (rcpt or {}).items()}
        self.data_replies = list(data or ["250 2.0.0 Ok: queued"])
        self.tls, self.auth = tls, auth
        self.ehlo_reply, self.mail_reply = ehlo_reply, mail_reply
        self.dot_delay = dot_delay
        self.tls_broken = tls_broken
        self.auth_mechs = auth_mechs
        self.greeting = greeting or f"220 {name} ESMTP test receiver"
        self.txns, self.conns, self.commands = [], 0, []
        self.active = self.max_active = 0
        self.lock = threading.Lock()
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
                cid = self.conns
            threading.Thread(target=self._serve, args=(conn, cid),
                             daemon=True).start()

    def _next(self, replies):
        with self.lock:
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _serve(self, conn, cid):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            _Conn(self, conn, cid).run()
        except (OSError, EOFError, ssl.SSLError, ValueError):
            pass
        finally:
            with self.lock:
                self.active -= 1
            try:
                conn.close()
            except OSError:
                pass

    def wait(self, n=1, timeout=20):
        """Wait for n transactions; returns the list."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.txns) >= n:
                    return list(self.txns)
            time.sleep(0.05)
        raise AssertionError(f"{self.host}: {len(self.txns)} of {n} "
                             f"transactions after {timeout}s; commands: "
                             f"{self.commands[-20:]}")


class _Conn:
    def __init__(self, rx, sock, cid):
        self.rx, self.sock, self.cid = rx, sock, cid
        self.buf = b""
        self.tls = False
        self.user = None
        self.reset()

    def reset(self):
        self.mail, self.params, self.rcpts = None, "", []
        self.pipelined = False

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def run(self):
        rx = self.rx
        self.send(rx.greeting)
        if not rx.greeting.startswith("220"):
            self.line()
            return
        while True:
            line = self.line()
            verb = line.split(" ", 1)[0].upper()
            with rx.lock:
                rx.commands.append((self.cid, line))
            if verb == "EHLO":
                if rx.ehlo_reply:
                    self.send(rx.ehlo_reply)
                    continue
                ext = list(rx.ext)
                if (rx.tls or rx.tls_broken) and not self.tls:
                    ext.append("STARTTLS")
                if rx.auth:
                    ext.append("AUTH " + rx.auth_mechs)
                lines = [rx.name] + ext
                for i, t in enumerate(lines):
                    sep = " " if i == len(lines) - 1 else "-"
                    self.send(f"250{sep}{t}")
            elif verb == "HELO":
                self.send(f"250 {rx.name}")
            elif verb == "STARTTLS" and rx.tls_broken:
                self.send("220 2.0.0 go ahead")
                return
            elif verb == "STARTTLS" and rx.tls and not self.tls:
                self.send("220 2.0.0 go ahead")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(str(rx.tls[0]), str(rx.tls[1]))
                self.sock = ctx.wrap_socket(self.sock, server_side=True)
                self.buf, self.tls = b"", True
                self.reset()
            elif verb == "AUTH" and rx.auth:
                self.auth(line)
            elif verb == "MAIL":
                # Pipelined: the next commands came before our reply.
                self.pipelined = b"\r\n" in self.buf
                addr = line[line.index("<") + 1:line.index(">")]
                self.params = line[line.index(">") + 1:].strip()
                reply = rx.mail_reply
                if reply.startswith("2"):
                    self.mail = addr
                self.send(reply)
            elif verb == "RCPT":
                addr = line[line.index("<") + 1:line.index(">")]
                reply = "250 2.1.5 Ok"
                if addr in rx.rcpt:
                    reply = rx._next(rx.rcpt[addr])
                if reply.startswith("2"):
                    self.rcpts.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if self.mail is None or not self.rcpts:
                    self.send("554 5.5.1 Error: no valid recipients")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    ln = self.line()
                    if ln == ".":
                        break
                    lines.append(ln[1:] if ln.startswith(".") else ln)
                if rx.dot_delay:
                    time.sleep(rx.dot_delay)
                reply = rx._next(rx.data_replies)
                if reply.startswith("2"):
                    with rx.lock:
                        rx.txns.append({
                            "conn": self.cid, "mail": self.mail,
                            "params": self.params, "rcpts": self.rcpts,
                            "data": "\r\n".join(lines) + "\r\n",
                            "tls": self.tls, "auth": self.user,
                            "pipelined": self.pipelined})
                self.send(reply)
                self.reset()
            elif verb == "RSET":
                self.reset()
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")

    def auth(self, line):
        parts = line.split()
        mech = parts[1].upper() if len(parts) > 1 else ""
        if mech == "PLAIN":
            raw = parts[2] if len(parts) > 2 else None
            if raw is None:
                self.send("334 ")
                raw = self.line()
            _, user, pw = base64.b64decode(raw).decode().split("\0")
        elif mech == "LOGIN":
            self.send("334 VXNlcm5hbWU6")
            user = base64.b64decode(self.line()).decode()
            self.send("334 UGFzc3dvcmQ6")
            pw = base64.b64decode(self.line()).decode()
        else:
            self.send("504 5.5.4 unknown mechanism")
            return
        if self.rx.auth.get(user) == pw:
            self.user = user
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication failed")
