#!/usr/bin/python3
# Memory under hostile clients, with default settings: 8 connections send partial 60 MB
# request frames, 8 more partial 3 MB frames (under socket.request.max.bytes and the budget),
# and 32 connections pipeline fetches of a few MB of data but never read the responses. The
# broker's resident memory (VmRSS of the real `ferry serve` process) must stay under 64 MiB
# throughout, and kcat must still produce and consume meanwhile.
import os
import time

import hostile
from hostile import check

RSS_LIMIT_KIB = 64 * 1024
HOG_TOPIC = "hog"
FETCHES_PER_HOG = 40


def body(args):
    hostile.raise_fd_limit(512)
    with hostile.harness.Ferry(args.ferry) as ferry:
        bs = ferry.bootstrap
        # A few MB of data for the fetches to return: 6000 records of 1 KB.
        record = b"r" * 1000 + b"\n"
        hostile.run(["kcat", "-P", "-b", bs, "-t", HOG_TOPIC, "-p", "0", "-X", "acks=all",
                     "-X", "batch.size=1000000"], timeout_s=60, input_bytes=record * 6000)
        base_kib = hostile.rss_kib(ferry.proc.pid)
        print(f"  broker RSS after loading data: {base_kib} KiB", flush=True)

        socks = []
        peak = [base_kib]

        def sample():
            peak[0] = max(peak[0], hostile.rss_kib(ferry.proc.pid))

        # 32 clients that ask for data and never read it.
        pipeline = b"".join(hostile.fetch_v4(i, HOG_TOPIC) for i in range(FETCHES_PER_HOG))
        for i in range(32):
            s = hostile.connect_from("127.0.0.2", ferry.port, rcvbuf=4096)
            hostile.send_some(s, pipeline, budget_s=0.05)
            socks.append(s)
            sample()
        # 8 partial 60 MB frames and 8 partial 3 MB frames.
        filler = bytes(60_000_000)
        for size in [60_000_000] * 8 + [3_000_000] * 8:
            s = hostile.connect_from("127.0.0.3", ferry.port)
            # All of the frame but its last 1000 bytes, as far as the broker takes it.
            sent = hostile.send_some(s, size.to_bytes(4, "big"), budget_s=0.1)
            sent += hostile.send_some(s, memoryview(filler)[:size - 1000], budget_s=0.3)
            print(f"  partial frame of {size} bytes: {sent} bytes sent", flush=True)
            socks.append(s)
            sample()
        # The attack stays in place while a well-behaved client works.
        hostile.kcat_round_trip(bs, "polite", 20)
        sample()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            sample()
            time.sleep(0.1)
        hostile.kcat_round_trip(bs, "polite2", 20)
        sample()
        print(f"  broker peak RSS under attack: {peak[0]} KiB (limit {RSS_LIMIT_KIB} KiB)",
              flush=True)
        if os.environ.get("FERRY_SANITIZED"):
            print("  sanitizer build: RSS limit not checked", flush=True)
            return
        check(peak[0] < RSS_LIMIT_KIB,
              f"broker RSS stays under 64 MiB (peak {peak[0] // 1024} MiB)")
        for s in socks:
            s.close()


if __name__ == "__main__":
    hostile.harness.main(__doc__ or "memory bound under hostile clients", body)
