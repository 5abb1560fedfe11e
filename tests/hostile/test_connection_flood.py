#!/usr/bin/python3
# Connection floods, with default settings: 2,000 idle connections and 300 slowloris
# connections (a request frame trickled one byte a second) from a handful of loopback
# addresses. max.connections (1024) is reached, so the broker must make room by closing the
# longest-idle connections; kcat must still produce and consume. Also: one address opening more
# than max.connections.per.ip (256) gets the excess refused.
import selectors
import time

import hostile
from hostile import check

IDLE = 2000
SLOW = 300


def body(args):
    hostile.raise_fd_limit(IDLE + SLOW + 600)
    with hostile.harness.Ferry(args.ferry) as ferry:
        bs = ferry.bootstrap
        hostile.kcat_round_trip(bs, "before", 5)
        socks = []
        opened = refused = 0
        # Idle: 200 per address from 127.0.1.1 - 127.0.1.10, under max.connections.per.ip.
        for i in range(IDLE):
            try:
                socks.append(hostile.connect_from(f"127.0.1.{1 + i // 200}", ferry.port))
                opened += 1
            except OSError:
                refused += 1
        # Slowloris: the start of a 1000-byte request frame, then a byte now and then.
        slow = []
        for i in range(SLOW):
            try:
                s = hostile.connect_from(f"127.0.2.{1 + i // 150}", ferry.port)
                s.sendall((1000).to_bytes(4, "big") + b"\x00")
                slow.append(s)
                opened += 1
            except OSError:
                refused += 1
        print(f"  {opened} attack connections opened, {refused} refused at connect", flush=True)
        # Keep trickling while the well-behaved client works.
        sel = selectors.DefaultSelector()
        for s in slow:
            s.setblocking(False)
        last_trickle = time.monotonic()

        def trickle():
            nonlocal last_trickle
            if time.monotonic() - last_trickle < 1:
                return
            last_trickle = time.monotonic()
            for s in slow:
                try:
                    s.send(b"\x00")
                except OSError:
                    pass

        trickle()
        hostile.kcat_round_trip(bs, "during", 20)
        trickle()
        hostile.kcat_round_trip(bs, "during2", 20)
        trickle()

        # One address above max.connections.per.ip: the excess is closed at once.
        crowd = [hostile.connect_from("127.0.3.1", ferry.port) for _ in range(300)]
        closed = set()
        for s in crowd:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + 10
        while len(closed) < 300 - 256 and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(1)
                except OSError:
                    data = b""
                if data == b"":
                    closed.add(key.fileobj)
                    sel.unregister(key.fileobj)
        closed = len(closed)
        print(f"  {closed} of 300 connections from 127.0.3.1 closed by the broker", flush=True)
        check(closed == 300 - 256, f"connections beyond max.connections.per.ip are refused "
              f"({closed} closed)")

        sel.close()
        log = ferry.log_text()
        check("max.connections (1024) reached: closing connection" in log,
              "the broker logs evicting idle connections at max.connections")
        check("max.connections.per.ip (256) reached" in log,
              "the broker logs refusing connections at max.connections.per.ip")
        check(log.count("\n") < 500, f"warnings are rate-limited ({log.count(chr(10))} lines)")
        for s in socks + slow + crowd:
            s.close()


if __name__ == "__main__":
    hostile.harness.main("connection floods", body)
