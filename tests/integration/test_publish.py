"""The public attack page (PRODUCT.md part 8) from the real daemon.

Attacks are replayed through the PROXY listener from outside addresses
(among them a quoted local part "<script>alert(1)</script>"@evil.example as
sender and a HELO with <b>), the records are awaited with `pillory log`,
then `pillory publish` writes the site and the files are checked: both
languages, counts, masking, escaping, the rolling window, incident pages
that stay, Atom and JSON that parse, `tidy -errors` clean, enabled = no.
Headless Chromium renders the page (text and a screenshot); curl reads it
from the built-in HTTP listener; the daemon regenerates by itself.

Needs tidy, chromium and curl (.ci/run installs them); without them, the
tests that use them are skipped locally and fail under CI=true."""
import json
import os
import re
import shutil
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
import zlib

import pytest

from conftest import Client, free_port, proxy_v1

SEED = "211.219.235.140"          # the 2002 attacker, kornet.net
EVIL = "198.51.100.9"
SCRIPT_SENDER = '"<script>alert(1)</script>"@evil.example'
ATOM = "{http://www.w3.org/2005/Atom}"
ENDED_JA = "ネットワーク攻撃記録の公表はとりやめました。"
ENDED_EN = "Publication of the network attack log has ended."


def need(tool):
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


def attempt(p, src, sender, rcpt, helo="c.example"):
    """One refused relay attempt from src through the PROXY listener."""
    c = Client(p.connect(port=p.proxy_port))
    c.send(proxy_v1(src))
    assert c.reply()[0] == 220
    code, _ = c.cmd(f"EHLO {helo}")
    if code != 250:                 # a HELO with markup may be refused
        assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
    assert code == 554, (code, lines)
    c.cmd("QUIT")
    c.close()


def wait_records(p, n, timeout=15):
    """Poll `pillory log --json` (bounded) until n records are there."""
    deadline = time.time() + timeout
    recs = []
    while time.time() < deadline:
        r = p.cli("log", "--json")
        if r.returncode == 0:
            recs = [json.loads(x) for x in r.stdout.splitlines() if x]
            if len(recs) >= n:
                return recs
        time.sleep(0.1)
    raise AssertionError(f"{len(recs)} of {n} records: {recs}")


def replay(p):
    """3 targeted attempts from SEED (our domain forged), then 5 from EVIL,
    one with the <script> sender and one with a <b> HELO: 8 in all."""
    for local in ("bbbb", "good", "abc"):
        attempt(p, SEED, f"{local}@gabacho-net.jp", "victim@empal.com")
    attempt(p, EVIL, SCRIPT_SENDER, "secret.person@remote.example")
    attempt(p, EVIL, "spam@evil.example", "a@remote.example",
            helo="<b>evil</b>")
    for i in range(3):
        attempt(p, EVIL, "spam@evil.example", f"user{i}@remote.example")
    return wait_records(p, 8)


def publish(p):
    r = p.cli("publish")
    assert r.returncode == 0, r.stderr
    return r


def site(p):
    return p.state / "public"


def read(p, name):
    return (site(p) / name).read_text(encoding="utf-8")


def log_lines(html):
    """The text lines of the page's <pre id="log"> (markup removed)."""
    m = re.search(r'<pre id="log">(.*?)</pre>', html, re.S)
    assert m, "no log lines"
    text = re.sub(r"<[^>]*>", "", m.group(1))
    return [x for x in text.split("\n") if x]


def all_files(p):
    return sorted(x for x in site(p).rglob("*") if x.is_file())


@pytest.fixture
def attacked(make_pillory):
    p = make_pillory(publish__recent="5")
    recs = replay(p)
    return p, recs


def test_both_languages_counts_and_rolling_window(attacked):
    p, recs = attacked
    assert len(recs) == 8
    publish(p)
    ja, en, idx = (read(p, n) for n in
                   ("index.ja.html", "index.en.html", "index.html"))
    assert idx == ja                  # the first language is the default
    assert '<html lang="ja">' in ja and '<html lang="en">' in en
    assert "スパム中継攻撃記録" in ja and "ネットワーク攻撃記録" in ja
    assert "Spam relay attack log" in en
    assert 'href="index.en.html"' in ja and 'href="index.ja.html"' in en
    # Counts include what rolled off; the page shows the newest 5.
    for page in (ja, en):
        assert 'id="total">8<' in page
        assert 'id="kind-spoofed-relay">3<' in page
        assert 'id="kind-relay">5<' in page
        assert len(log_lines(page)) == 5
        assert SEED not in "\n".join(log_lines(page))
    # The seed's line format, recipient masked.
    assert re.search(r"\d\d:\d\d:\d\d  unknown \[198\.51\.100\.9\] "
                     r"from=&lt;spam@evil\.example&gt; "
                     r"to=&lt;\*\*\*\*\*\*@remote\.example&gt;", en), en
    # Dates in each language's form.
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d", ja)
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d", en)
    # The chart: inline SVG with a text alternative and a table.
    assert '<svg class="chart"' in en and "<desc>8 attempts" in en
    assert "The chart&#39;s numbers as a table" in en


def test_escaping_and_masking_everywhere(attacked):
    p, recs = attacked
    publish(p)
    assert any(r["from"] == SCRIPT_SENDER for r in recs)
    for f in all_files(p):
        text = f.read_text(encoding="utf-8")
        assert "<script" not in text.lower(), f
        assert "<b>" not in text, f
        assert "secret.person" not in text, f     # masked recipient
        assert "victim@" not in text, f
    en = read(p, "index.en.html")
    assert "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@evil.example" \
        in en
    data = json.loads(read(p, "attacks.json"))
    senders = [r["from"] for r in data["recent"]]
    assert SCRIPT_SENDER in senders               # exact, after parsing
    assert all(r["to"].startswith("******@") for r in data["recent"])


def test_json_and_atom_parse(attacked):
    p, _ = attacked
    publish(p)
    data = json.loads(read(p, "attacks.json"))
    assert data["enabled"] is True
    assert data["counts"]["total"] == 8
    assert data["counts"]["by_kind"]["spoofed-relay"] == 3
    assert data["counts"]["today"] + 0 <= 8
    assert len(data["recent"]) == 5 and data["recent_limit"] == 5
    assert len(data["days"]) == 90
    assert sum(d["count"] for d in data["days"]) == 8
    by_ip = {i["client_ip"]: i for i in data["incidents"]}
    assert by_ip[SEED]["targeted"] is True and by_ip[SEED]["count"] == 3
    assert by_ip[EVIL]["targeted"] is False and by_ip[EVIL]["count"] == 5
    assert SCRIPT_SENDER in by_ip[EVIL]["senders"]
    assert {n["network"] for n in data["top_networks"]} == \
        {"211.219.235.0/24", "198.51.100.0/24"}
    for name in ("feed.atom", "feed.ja.atom", "feed.en.atom"):
        root = ET.parse(site(p) / name).getroot()
        assert root.tag == ATOM + "feed"
        for req in ("id", "title", "updated", "author"):
            assert root.find(ATOM + req) is not None, (name, req)
        entries = root.findall(ATOM + "entry")
        assert len(entries) == 2
        for e in entries:
            for req in ("id", "title", "updated", "link"):
                assert e.find(ATOM + req) is not None, (name, req)
            href = e.find(ATOM + "link").get("href")
            assert (site(p) / href).is_file(), href
    en = ET.parse(site(p) / "feed.en.atom").getroot()
    titles = [e.find(ATOM + "title").text for e in en.findall(ATOM + "entry")]
    assert f"3 attempts from {SEED} (unknown)" in titles
    assert any("<script>" in e.find(ATOM + "summary").text
               for e in en.findall(ATOM + "entry"))   # text, escaped in XML


def test_incident_pages_stay(attacked):
    p, _ = attacked
    publish(p)
    data = json.loads(read(p, "attacks.json"))
    seed = next(i for i in data["incidents"] if i["client_ip"] == SEED)
    for lang in ("ja", "en"):
        page = read(p, f"incidents/{seed['id']}.{lang}.html")
        assert f'<html lang="{lang}">' in page
        assert 'id="attempts">3<' in page
        # The seed attacker's lines rolled off the index, not off here.
        lines = log_lines(page)
        assert len(lines) == 3 and all(SEED in x for x in lines)
        assert "from=&lt;bbbb@gabacho-net.jp&gt;" in page
        assert "to=&lt;******@empal.com&gt;" in page
    assert "当サイトのドメイン名を差出人にかたった" in \
        read(p, f"incidents/{seed['id']}.ja.html")
    # A second run with nothing new leaves incident pages alone.
    before = {f: f.stat().st_mtime_ns for f in (site(p) / "incidents").iterdir()}
    out = publish(p).stdout
    assert re.search(r"\b4 changed\b", out), out
    after = {f: f.stat().st_mtime_ns for f in (site(p) / "incidents").iterdir()}
    assert before == after


def test_tidy_finds_no_errors(attacked):
    tidy = need("tidy")
    p, _ = attacked
    publish(p)
    pages = [f for f in all_files(p) if f.suffix == ".html"]
    assert len(pages) == 3 + 2 * 2
    for f in pages:
        r = subprocess.run([tidy, "-errors", "-q", str(f)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (f, r.stderr)


def test_publication_ended(make_pillory):
    p = make_pillory()
    attempt(p, SEED, "bbbb@gabacho-net.jp", "victim@empal.com")
    wait_records(p, 1)
    publish(p)
    inc = [f for f in (site(p) / "incidents").iterdir()]
    assert len(inc) == 2
    # enabled = no: every page says publication has ended, no attack data.
    p.stop()
    p.sections["publish"] = {"enabled": "no"}
    p.start()
    attempt(p, SEED, "good@gabacho-net.jp", "victim@empal.com")
    recs = wait_records(p, 2)       # the attack log keeps recording
    assert len(recs) == 2
    r = publish(p)
    assert "publication ended" in r.stdout
    files = all_files(p)
    assert len(files) == 3 + 3 + 1 + 2
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert SEED not in text and "gabacho-net.jp" not in text, f
        want = ENDED_EN if ".en." in f.name else ENDED_JA
        if f.name == "attacks.json":
            data = json.loads(text)
            assert data["enabled"] is False
            assert data["message"] == {"ja": ENDED_JA, "en": ENDED_EN}
        else:
            assert want in text, f
        if f.suffix == ".atom":
            ET.fromstring(text)


def test_unknown_language_is_an_error(make_pillory):
    p = make_pillory(start=False, publish__languages="ja, xx")
    p.write_config()
    r = p.cli("publish")
    assert r.returncode == 1
    assert 'unknown language "xx"' in r.stderr


# ---- headless Chromium ------------------------------------------------------


def png_pixels(path):
    """(width, height, rows of bytes, bytes per pixel) of an 8-bit RGB(A)
    PNG, unfiltered (RFC 2083 6)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color = ihdr[:4]
    assert depth == 8 and color in (2, 6), ihdr
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def chromium(tmp_path, *args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        need("chromium")
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--user-data-dir=" +
                        str(tmp_path / "chromium")] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_browser_renders_the_page(attacked, tmp_path):
    p, _ = attacked
    publish(p)
    en = site(p) / "index.en.html"
    dom = chromium(tmp_path, "--dump-dom", en.as_uri())
    assert "Spam relay attack log" in dom
    assert "Attempts per day (last 90 days)" in dom
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert re.search(r'id="total">8<', dom)
    dom_ja = chromium(tmp_path, "--dump-dom",
                      (site(p) / "index.ja.html").as_uri())
    assert "スパム中継攻撃記録" in dom_ja
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=412,900",
             en.as_uri())
    w, h, rows, bpp = png_pixels(shot)
    assert (w, h) == (412, 900)
    white = bytes([255] * bpp)
    inked = sum(1 for row in rows for x in range(0, len(row), bpp * 4)
                if row[x:x + 3] != white[:3])
    colours = {row[x:x + 3] for row in rows[::10]
               for x in range(0, len(row), bpp * 3)}
    assert inked > 0.02 * (w // 4) * h, inked     # text, cards, lines
    assert len(colours) > 8, len(colours)         # not one flat colour


# ---- the daemon: built-in HTTP listener, regeneration by itself -------------


def curl(url, *args):
    exe = need("curl")
    r = subprocess.run([exe, "-s", "-i", "--path-as-is", "--max-time", "10"]
                       + list(args) + [url], capture_output=True,
                       timeout=30)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def test_http_listener(make_pillory):
    port = free_port()
    p = make_pillory(publish__http_listen=f"127.0.0.1:{port}")
    attempt(p, EVIL, SCRIPT_SENDER, "x@remote.example")
    wait_records(p, 1)
    publish(p)
    base = f"http://127.0.0.1:{port}"

    status, h, body = curl(base + "/")
    assert status == 200
    assert h["content-type"] == "text/html; charset=utf-8"
    assert body == (site(p) / "index.html").read_bytes()
    assert "etag" in h and "last-modified" in h
    assert "script-src" not in h["content-security-policy"]
    assert "default-src 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    for path, ctype in (("/index.en.html", "text/html; charset=utf-8"),
                        ("/feed.atom", "application/atom+xml; charset=utf-8"),
                        ("/attacks.json", "application/json")):
        status, h2, body = curl(base + path)
        assert status == 200 and h2["content-type"] == ctype, path
        assert body == (site(p) / path[1:]).read_bytes()
    inc = next((site(p) / "incidents").iterdir()).name
    assert curl(f"{base}/incidents/{inc}")[0] == 200

    # Conditional requests.
    assert curl(base + "/", "-H", f"If-None-Match: {h['etag']}")[0] == 304
    assert curl(base + "/", "-H", 'If-None-Match: "nope"')[0] == 200
    assert curl(base + "/", "-H",
                f"If-Modified-Since: {h['last-modified']}")[0] == 304
    # HEAD: the headers of GET, no body.
    status, hh, body = curl(base + "/index.html", "-I")
    assert status == 200 and body == b""
    assert int(hh["content-length"]) == (site(p) / "index.html").stat().st_size
    # Nothing but GET and HEAD.
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, hm, _ = curl(base + "/", "-X", method)
        assert status == 405, method
        assert hm["allow"] == "GET, HEAD"
    status, hm, _ = curl(base + "/", "-d", "x=1")
    assert status == 405
    # No way out of the directory, nothing hidden, nothing but files.
    for d in (p.dir, p.state):
        (d / "secret.txt").write_text("root:x:0:0\n")
    for path in ("/../secret.txt", "/../../etc/passwd", "/%2e%2e/secret.txt",
                 "/%2E%2E/%2E%2E/etc/passwd", "/incidents/..%2f..%2fsecret.txt",
                 "/..%5csecret.txt", "/index.html%00.json", "/.%2e/secret.txt",
                 "/incidents/../../secret.txt", "//etc/passwd",
                 "/.index.html.1.tmp", "/incidents", "/nope.html"):
        status, _, body = curl(base + path)
        assert status in (400, 404), (path, status)
        assert b"root:" not in body
    # A symbolic link inside the directory is not followed.
    os.symlink("/etc/passwd", site(p) / "link.html")
    assert curl(base + "/link.html")[0] == 404


def test_daemon_regenerates_by_itself(make_pillory):
    p = make_pillory(publish__delay="1s", publish__recent="5")
    # At start the publisher writes the (empty) site.
    deadline = time.time() + 15
    while time.time() < deadline and not (site(p) / "index.html").exists():
        time.sleep(0.1)
    assert 'id="total">0<' in read(p, "index.en.html")
    for i in range(3):
        attempt(p, SEED, "bbbb@gabacho-net.jp", f"v{i}@empal.com")
    deadline = time.time() + 20
    while time.time() < deadline:
        if 'id="total">3<' in read(p, "index.en.html"):
            break
        time.sleep(0.2)
    en = read(p, "index.en.html")
    assert 'id="total">3<' in en
    assert len(log_lines(en)) == 3
