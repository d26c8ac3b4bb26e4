#!/usr/bin/env python3
"""Writes the seed corpus of session_fuzz (tests/fuzz/corpus/session/).

session_fuzz.cc reads its input through libFuzzer's FuzzedDataProvider, which
takes integers from the end of the input and strings from the front. Seeds
are written as scripts here with an encoder that mirrors those draws, in the
order session_fuzz.cc makes them, so each seed is a meaningful session (two
users talking across shards, history, the HTTP API, fragments and closes).
If session_fuzz.cc changes how it draws, rerun this: the seeds still load
either way, they only mean less.

  tests/fuzz/session_seeds.py   (rewrites tests/fuzz/corpus/session/*)
"""
import os


class Enc:
    def __init__(self):
        self.front = bytearray()
        self.back = bytearray()  # in the order the provider consumes them

    def int(self, value, lo, hi):
        span = hi - lo
        assert lo <= value <= hi
        n = 0
        while n < 8 and (span >> (8 * n)) > 0:
            n += 1
        v = value - lo
        for i in reversed(range(n)):  # most significant byte is taken first
            self.back.append((v >> (8 * i)) & 0xFF)

    def bool(self, b):
        self.int(1 if b else 0, 0, 255)

    def u32(self, v):
        self.int(v, 0, 0xFFFFFFFF)

    def string(self, s, max_len):
        data = s.encode() if isinstance(s, str) else bytes(s)
        assert len(data) <= max_len
        for b in data:
            self.front += b"\\\\" if b == 0x5C else bytes([b])
        if len(data) < max_len:
            self.front += b"\\A"  # a backslash and another byte end the string

    def data(self):
        return bytes(self.front) + bytes(reversed(self.back))


# Step codes of SessionScript::Step.
OPEN_WS, OPEN_HTTP, OPEN_RAW, COMMAND, FRAME, RAW, HTTP, CLOSE, EOF, STALL, ADVANCE, ROUND_ONE, \
    ROUNDS, DRAIN, REFUSE = 0, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17


class Script:
    def __init__(self):
        self.e = Enc()

    def step(self, code):
        self.e.int(code, 0, 17)

    def slot(self, i):
        self.e.int(i, 0, 7)

    def open_ws(self, slot, shard, user=None, api_key=False):
        self.step(OPEN_WS)
        self.slot(slot)
        self.e.int(shard, 0, 1)
        if api_key:
            self.e.int(4, 0, 5)
        elif user is None:
            self.e.int(0, 0, 5)
        elif isinstance(user, int):  # one of alice, bob, carol, dave
            self.e.int(1, 0, 5)
            self.e.int(user, 0, 3)
        else:  # bytes, percent-encoded into ?user=
            self.e.int(3, 0, 5)
            self.e.string(user, 24)
        self.e.bool(False)  # no Origin

    def rounds(self, n=4):
        self.step(ROUNDS)
        self.e.int(n, 1, 4)

    def advance(self, ms):
        self.step(ADVANCE)
        self.e.int(ms, 1, 4000)

    # Pieces of a command, as Room(), User(), Data(), Id() draw them.
    def room(self, kind, n=0):
        self.e.int(kind, 0, 9)  # 0 lobby, 2 h:log, 3 q:quiet, 4 @alice, 5 events, 6 h:N, 7 rN
        if kind == 6:
            self.e.int(n, 0, 3)
        elif kind == 7:
            self.e.int(n, 0, 7)

    def user(self, kind):
        self.e.int(kind, 0, 6)  # 0 alice, 1 bob, 2 carol, 3 $server, 4 nobody

    def json_string(self, text, max_len):
        self.e.string(text, max_len)
        self.e.int(4, 0, 7)  # escaped, nothing appended

    def data(self, kind=1, n=0, text="hello"):
        self.e.int(kind, 0, 7)
        if kind == 3:
            self.json_string(text, 32)
        elif kind == 6:
            self.e.string(text, 24)
        elif kind == 7:
            self.json_string(text, 48)
        elif kind == 4:
            self.e.int(n, 0, 80)
        elif kind == 5:
            self.e.int(n, 100, 2100)

    def id(self, value=None):
        if value is None:
            self.e.int(0, 0, 5)
        else:
            self.e.int(4, 0, 5)
            self.e.int(value, 0, 99)

    def command(self, op, **kw):
        e = self.e
        code = {"sub": 0, "unsub": 1, "pub": 2, "send": 4, "req": 5, "res": 6, "presence": 7,
                "ping": 8}[op]
        e.int(code, 0, 9)
        if op in ("sub", "unsub", "pub", "presence"):
            self.room(*kw.get("room", (0,)))
        if op == "sub":
            e.bool("since" in kw)
            if "since" in kw:
                if kw.get("have_epochs"):
                    e.bool(False)
                self.json_string(kw["since"], 12)
                e.int(0, 0, 9)  # seq
            e.bool(kw.get("presence", False))
        if op in ("send", "req"):
            e.int(0, 0, 4)
            self.user(kw.get("to", 0))
        if op == "res":
            if kw.get("have_rids"):
                e.bool(True)
                e.int(0, 0, kw.get("rids", 1) - 1)
            else:
                self.json_string(kw.get("rid", "0.1"), 12)
        if op in ("pub", "send", "req", "res"):
            self.data(*kw.get("data", (1,)))
        if op == "pub":
            e.bool(kw.get("no_echo", False))
        if op == "req":
            e.int(kw.get("timeout_ms", 2000), 0, 70000)
        self.id(kw.get("id"))

    def text(self, slot, *commands):
        """One text frame with one to three commands (kw dicts)."""
        self.step(COMMAND)
        self.slot(slot)
        first, *rest = commands
        self.command(**first)
        self.e.int(len(rest), 0, 2)
        for c in rest:
            self.e.bool(False)  # "\n"
            self.command(**c)
        self.e.u32(0x5A17C3E9)
        self.e.int(1, 0, 5)  # whole, not fragmented

    def close(self, slot, code_index=0, reason=""):
        self.step(CLOSE)
        self.slot(slot)
        self.e.int(code_index, 0, 7)
        self.e.int(1, 0, 7)
        self.e.string(reason, 130)
        self.e.u32(0x11223344)

    def http(self, slot, path_kind, method_index=1, keep_alive=True, **kw):
        self.step(OPEN_HTTP)
        self.slot(slot)
        self.e.int(0, 0, 1)
        self.e.int(method_index, 0, 4)  # GET POST POST PUT HEAD
        self.e.int(path_kind, 0, 7)
        if path_kind == 1:
            self.room(*kw.get("room", (0,)))
            self.data(*kw.get("data", (1,)))
        elif path_kind == 2:
            self.e.int(0, 0, 4)
            self.user(kw.get("to", 0))
            self.data(*kw.get("data", (1,)))
        elif path_kind == 3:
            self.user(kw.get("user", 0))
        elif path_kind == 4:
            self.e.string(kw.get("room", "lobby"), 20)
        self.e.bool(True)  # HTTP/1.1
        self.e.int(2, 0, 3)  # the right API key
        self.e.bool(keep_alive)
        self.e.int(2, 0, 3)  # Content-Type: application/json
        self.e.int(2, 0, 7)  # Content-Length as the body is
        return self

    def eof(self, slot):
        self.step(EOF)
        self.slot(slot)

    def drain(self, shard):
        self.step(DRAIN)
        self.e.int(shard, 0, 1)

    def refuse(self, shard):
        self.step(REFUSE)
        self.e.int(shard, 0, 1)

    def stall(self, slot):
        self.step(STALL)
        self.slot(slot)


def seeds():
    out = {}

    s = Script()  # alice on shard 0, bob on shard 1: pub, send, req and res across shards
    s.open_ws(0, 0, user=0)
    s.open_ws(1, 1, user=1)
    s.rounds()
    s.text(0, dict(op="sub", room=(0,), presence=True, id=1))
    s.rounds()
    s.text(1, dict(op="pub", room=(0,), data=(1,), id=2), dict(op="send", to=0, id=3))
    s.rounds()
    s.text(1, dict(op="req", to=0, timeout_ms=3000, id=4))
    s.rounds()
    s.text(0, dict(op="res", have_rids=True, data=(0,), id=5))
    s.rounds()
    s.text(1, dict(op="presence", room=(0,), id=6))
    s.rounds()
    s.eof(0)
    s.advance(400)
    out["users_across_shards"] = s.e.data()

    s = Script()  # history: publish, subscribe with since, expire
    s.open_ws(2, 1, user=2)
    s.rounds()
    s.text(2, dict(op="pub", room=(2,), data=(3,), id=1), dict(op="pub", room=(2,), id=2))
    s.rounds()
    s.text(2, dict(op="sub", room=(2,), since="e", id=3))
    s.rounds()
    s.advance(3000)
    out["history"] = s.e.data()

    s = Script()  # the HTTP API next to a subscriber, then a disconnect
    s.open_ws(0, 0, user=0)
    s.rounds()
    s.text(0, dict(op="sub", room=(7, 1), id=1))
    s.rounds()
    s.http(3, 1, room=(7, 1), data=(7,))
    s.rounds()
    s.http(4, 2, to=0)
    s.http(5, 4, method_index=0, room="r1")
    s.rounds()
    s.http(6, 3, user=0)
    s.rounds()
    out["http_api"] = s.e.data()

    s = Script()  # a slow consumer: a stalled reader in a busy room
    s.open_ws(0, 0, user=0)
    s.open_ws(1, 1, user=1)
    s.rounds()
    s.text(0, dict(op="sub", room=(7, 3), id=1))
    s.rounds()
    s.stall(0)
    for _ in range(4):
        s.text(1, dict(op="pub", room=(7, 3), data=(5, 2000)),
               dict(op="pub", room=(7, 3), data=(5, 2000)),
               dict(op="pub", room=(7, 3), data=(5, 2000)))
        s.rounds(2)
    s.stall(0)
    s.rounds()
    out["slow_consumer"] = s.e.data()

    s = Script()  # refused and odd commands, then a close handshake
    s.open_ws(0, 1, api_key=True)
    s.open_ws(1, 0)
    s.rounds()
    s.text(1, dict(op="sub", room=(4,), id=1), dict(op="pub", room=(3,), id=2),
           dict(op="sub", room=(5,), id=3))
    s.text(0, dict(op="sub", room=(5,), id=4), dict(op="send", to=4, id=5),
           dict(op="res", rid="9.9", id=6))
    s.rounds()
    s.close(1, 0, "bye")
    s.close(0, 2, "\u00e9t\u00e9")
    s.rounds()
    out["refusals_and_close"] = s.e.data()

    s = Script()  # shard 1's bus refuses work, then shard 0 drains while a client arrives
    s.open_ws(0, 0, user=0)
    s.open_ws(1, 1, user=1)
    s.rounds()
    s.refuse(1)
    s.text(1, dict(op="pub", room=(7, 2), id=1), dict(op="send", to=0, id=2))
    s.rounds()
    s.refuse(1)
    s.drain(0)
    s.open_ws(2, 0, user=2)
    s.rounds()
    s.advance(1000)
    out["refuse_and_drain"] = s.e.data()

    s = Script()  # a ?user= that is not UTF-8 (refused: it would be echoed into frames)
    s.open_ws(0, 0, user=b"\xff\xfe\"x")
    s.open_ws(1, 1, user=1)
    s.rounds()
    s.text(1, dict(op="sub", room=(0,), presence=True, id=1))
    s.rounds()
    s.text(0, dict(op="sub", room=(0,), id=2), dict(op="pub", room=(0,), id=3))
    s.rounds()
    out["non_utf8_user"] = s.e.data()
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = os.path.join(here, "corpus", "session")
    os.makedirs(corpus, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
