#!/usr/bin/env python3
"""genmaildir.py DIR COUNT SIZE SUB

Write COUNT messages of SIZE octets (LF line ends, as pillory's spool
stores them) into the Maildir DIR/{tmp,new,cur}, in SUB (new or cur).
Names follow spool.c and Dovecot: "<sec>.M<usec>P<pid>_<n>.<host>,S=<lf
size>,W=<crlf size>" (plus ":2,S" in cur/). Each message has an
"X-Bench-Id: n" header (popload checks every one is retrieved once) and a
body line starting with "." (so RETR has to dot-stuff).
"""
import os
import sys


def message(n, size):
    head = (
        "Return-Path: <sender@example.org>\n"
        "Received: from client.example.org (client.example.org [192.0.2.1])\n"
        "\tby bench.example.test with ESMTP id bench%06d\n"
        "\tfor <user@example.test>; Sat, 28 Nov 2026 12:00:00 +0000\n"
        "From: Sender <sender@example.org>\n"
        "To: User <user@example.test>\n"
        "Subject: bench message %d\n"
        "Date: Sat, 28 Nov 2026 12:00:00 +0000\n"
        "Message-ID: <bench.%d@example.org>\n"
        "X-Bench-Id: %d\n"
        "\n"
        ".a body line starting with a dot\n" % (n, n, n, n)
    )
    line = ("The quick brown fox jumps over the lazy dog %06d " % n) * 2
    line = line[:71] + "\n"
    body = head
    while len(body) + len(line) <= size - 1:
        body += line
    pad = size - len(body)
    if pad > 0:
        body += "x" * (pad - 1) + "\n"
    data = body.encode()
    assert len(data) == size, (len(data), size)
    return data


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("new", "cur"):
        sys.exit(__doc__)
    root, count, size, sub = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    base = 1795864860
    for n in range(1, count + 1):
        data = message(n, size)
        wsize = len(data) + data.count(b"\n")
        name = "%d.M%dP7122_%d.bench.example.test,S=%d,W=%d" % (
            base + n // 1000, (n % 1000) * 1000, n, len(data), wsize)
        if sub == "cur":
            name += ":2,S"
        with open(os.path.join(root, sub, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
