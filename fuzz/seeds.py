#!/usr/bin/env python3
"""Writes the small committed seed corpora (fuzz/corpus/<target>/seed-*).

Run from fuzz/: python3 seeds.py. The CI replay in tests/integration/hostile.rs reads the
same files, so keep every seed short.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def w(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# keystrokes: byte 0 picks the truncation limit (bit 7: 200, else 1 + byte % 64).
KEYSTROKES = {
    "plain": b"\x05please do task A",
    "c0": b"\x83" + bytes(range(0, 0x20)) + b"end",
    "crlf": b"\x10line1\nline2\r\nline3\rend\r",
    "csi": b"\x90\x1b[2J\x1b[H\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]52;c;cm0gLXJm\x1b\\",
    "paste": b"\xa0\x1b[201~rm -rf ~\n\x1b[200~",
    "c1": b"\x81" + "\u0080\u0085\u009b6n\u009d0;x\u009c\u009f".encode(),
    "del": b"\x02abc\x7f\x7f\x7fx",
    "bidi": b"\x84" + "\u202etxt.exe\u202c \u2066x\u2069 \u200f\u061c".encode(),
    "zero-width": b"\x84" + "a\u200bb\u200cc\u200dd\u2060e\ufefff\u00ad\u034f".encode(),
    "hidden": b"\x85" + "hi\U000e0001\U000e0069\U000e0067 \U000e0101 \ufe01 \u3164\u115f\uffa0".encode(),
    "separators": b"\x03" + "a\u2028b\u2029c\u0085d".encode(),
    "emoji": b"\x07" + "日本語 é 😀 👨‍👩‍👧 ❤️ e\u0301\u0301".encode(),
    "dash": b"\x01-R",
    "invalid-utf8": b"\x04\xc0\xaf\xed\xa0\x80\xf8\x88\x80\x80\x80\xfe\xff",
    "cut-crlf": b"\x01a\r\nb",
    "shell": b"\x92$(touch /tmp/PWNED) `id` ; rm -rf / ! sh",
}

QUERY = {
    "token": b"s3cr%2Bt%2Ftok%3Den",
    "plus": b"a+b%2Bc",
    "bad-escapes": b"%zz%4%%41%",
    "sign": b"%+1%-1%+F",
    "non-ascii": "%aé%é%%c3%a9".encode(),
    "nul": b"%00%1b%ff",
}

SEP = b"\xff"


def web(sel, extra=b"", host=b"", origin=b"", tok=b"", body=b"", fleet=b""):
    """sel: method, path (+16*mode), host, token mode, origin mode, body mode, locked."""
    return bytes(sel) + SEP + extra + SEP + host + SEP + origin + SEP + tok + SEP + body + SEP + fleet


WEB = {
    "send-unicast": web([1, 0, 0, 0, 1, 1, 0], body="\x1b[31m<script>alert(1)</script>\u202e".encode()),
    "send-broadcast": web([1, 0, 0, 0, 1, 2, 0], body="all of \u009b2J and \x00 nul".encode()),
    "send-not-admin": web([1, 0, 0, 0, 1, 3, 0], body=b"from alice"),
    "send-token": web([1, 0, 0, 1, 0, 1, 1], body=b"-R --help"),
    "send-bearer-cross": web([1, 0, 0, 2, 4, 1, 1], origin=b"http://evil.example:8000", body=b"x"),
    "locked-no-token": web([0, 1, 0, 0, 0, 0, 1]),
    "locked-query-token": web([0, 3, 1, 3, 0, 0, 1]),
    "locked-wrong-token": web([0, 2, 0, 4, 0, 0, 1], tok=b" s3cr+t/tok=en "),
    "evil-host": web([0, 1, 4, 0, 0, 0, 0]),
    "fuzzed-host": web([1, 0, 8, 0, 1, 1, 0], host=b"127.0.0.1:8000\t"),
    "no-host": web([0, 1, 9, 0, 0, 0, 0]),
    "cross-origin": web([1, 0, 0, 0, 4, 1, 0], origin=b"http://127.0.0.1:8000.evil.example", body=b"x"),
    "null-origin": web([1, 0, 0, 0, 3, 1, 0], body=b"x"),
    "raw-nul": web([1, 0, 0, 0, 1, 0, 0], body=b'{"from_agent_id":2,"to_agent_id":3,"text":"nul\\u0000end"}'),
    "raw-lone-surrogate": web([1, 0, 0, 0, 1, 0, 0], body=b'{"from_agent_id":2,"to_agent_id":3,"text":"\\ud800"}'),
    "raw-pair": web([1, 0, 0, 0, 1, 0, 0], body=b'{"from_agent_id":2,"to_agent_id":"*","text":"\\ud83d\\ude00"}'),
    "raw-dup-keys": web([1, 0, 0, 0, 1, 0, 0], body=b'{"from_agent_id":3,"to_agent_id":3,"text":"a","from_agent_id":2}'),
    "raw-big-int": web([1, 0, 0, 0, 1, 0, 0], body=b'{"from_agent_id":1e400,"to_agent_id":99999999999999999999,"text":1}'),
    "html-path": web([0, 0x39, 0, 0, 0, 0, 0], extra=b"/%3Cscript%3Ealert(1)%3C/script%3E"),
    "api-dotdot": web([0, 0x33, 0, 0, 0, 0, 1], extra=b"/../fleets"),
    "double-slash": web([0, 0x4F, 0, 0, 0, 0, 1], extra=b"//api/fleets"),
    "query-token-tricks": web([0, 0x21, 0, 0, 0, 0, 1], extra="token=%aé&token=s3cr%2Bt%2Ftok%3Den".encode()),
    "patch-monitor": web([3, 5, 0, 0, 1, 0, 0], body=b'{"interval_seconds":-1,"enabled":"off"}'),
    "fleet-header": web([0, 2, 0, 0, 0, 0, 0], fleet=b" +1_0 "),
}

for name, data in KEYSTROKES.items():
    w("keystrokes", name, data)
for name, data in QUERY.items():
    w("query_decode", name, data)
for name, data in WEB.items():
    w("web_request", name, data)
