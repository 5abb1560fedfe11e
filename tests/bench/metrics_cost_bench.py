#!/usr/bin/python3
"""The cost of the admin listener's /metrics: librdkafka (confluent_kafka) produce throughput
against one `ferry serve` while /metrics is scraped every second, against the same produce with
no scraping, in alternating rounds of one invocation (ratio scraped / not scraped; goal >= 0.98).
Then the scrape itself with 1,000 partitions: time to answer /metrics and /v1/status, and their
size.

Usage:
  /usr/bin/python3 tests/bench/metrics_cost_bench.py build/native/src/app/ferry \
      [--rounds 8] [--seconds 6] [--size 100] [--partitions 1000] [--scrape-every 1.0]

Prints one line per round, the median throughput of each kind and their ratio, then the
1,000-partition scrape figures (median and max of --scrapes scrapes)."""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "admin"))
from admin_broker import AdminBroker  # noqa: E402


def Broker(ferry, work):
    # The free-space threshold off: the benchmark's data directory may sit on a small disk.
    return AdminBroker(ferry, work, "log.dir.min.free.bytes = 0", start_timeout_s=30,
                       stop_timeout_s=30)



def get(port, path):
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        body = r.read()
    return time.perf_counter() - start, len(body)


class Scraper(threading.Thread):
    """GETs /metrics every `every` seconds until stopped."""

    def __init__(self, port, every):
        super().__init__(daemon=True)
        self.port, self.every = port, every
        self.stop_event = threading.Event()
        self.scrapes = 0
        self.seconds = []

    def run(self):
        while not self.stop_event.is_set():
            took, _ = get(self.port, "/metrics")
            self.seconds.append(took)
            self.scrapes += 1
            self.stop_event.wait(self.every)


def create_topics(bs, topics):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bs})
    for f in admin.create_topics([NewTopic(t, n, 1) for t, n in topics],
                                 operation_timeout=60).values():
        f.result(120)


def produce_round(bs, topic, seconds, size):
    """Produces for `seconds`, then waits for every acknowledgement; records/s over the whole."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "acks": "all",
                  "batch.num.messages": 10000, "queue.buffering.max.messages": 200000,
                  "compression.type": "none"})
    value = b"x" * size
    sent = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(1000):
            try:
                p.produce(topic, value=value)
                sent += 1
            except BufferError:
                p.poll(0.005)
        p.poll(0)
        if time.perf_counter() >= end:
            break
    left = p.flush(120)
    took = time.perf_counter() - start
    if left:
        raise RuntimeError(f"{left} records not delivered")
    return sent / took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ferry")
    ap.add_argument("--rounds", type=int, default=8, help="rounds in all, alternating kinds")
    ap.add_argument("--seconds", type=float, default=6.0, help="produce time per round")
    ap.add_argument("--size", type=int, default=100, help="value bytes")
    ap.add_argument("--partitions", type=int, default=1000, help="for the scrape figures")
    ap.add_argument("--scrapes", type=int, default=20, help="scrapes timed at that size")
    ap.add_argument("--scrape-every", type=float, default=1.0, help="seconds between scrapes")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ferry-metrics-bench-")
    broker = None
    try:
        broker = Broker(args.ferry, work)
        bs = f"127.0.0.1:{broker.port}"
        create_topics(bs, [("bench", 4)])
        produce_round(bs, "bench", 1.0, args.size)  # warm-up: connections, segments
        rates = {"scraped": [], "unscraped": []}
        scrapes = 0
        for r in range(args.rounds):
            # ABBA order so that a drift over the run (page cache, segment rolls) hits both kinds.
            kind = "scraped" if (r % 4) in (0, 3) else "unscraped"
            scraper = None
            if kind == "scraped":
                scraper = Scraper(broker.admin, args.scrape_every)
                scraper.start()
            rate = produce_round(bs, "bench", args.seconds, args.size)
            extra = ""
            if scraper:
                scraper.stop_event.set()
                scraper.join()
                scrapes += scraper.scrapes
                extra = (f", {scraper.scrapes} scrapes, median "
                         f"{statistics.median(scraper.seconds) * 1000:.2f} ms")
            rates[kind].append(rate)
            print(f"round {r + 1}: {kind:9s} {rate:10.0f} records/s{extra}", flush=True)
        s, u = statistics.median(rates["scraped"]), statistics.median(rates["unscraped"])
        print(f"produce {args.seconds:g} s rounds of {args.size} B records, acks=all, 4 partitions: median "
              f"scraped {s:.0f} records/s, not scraped {u:.0f} records/s, "
              f"ratio {s / u:.3f} (goal >= 0.98; {scrapes} scrapes)")

        # The scrape with many partitions: ten topics, one record in each partition.
        per = max(1, args.partitions // 10)
        topics = [(f"wide-{i}", per) for i in range(10)]
        start = time.perf_counter()
        create_topics(bs, topics)
        print(f"created {per * 10} partitions in {time.perf_counter() - start:.1f} s")
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": bs, "linger.ms": 20})
        for t, n in topics:
            for part in range(n):
                p.produce(t, value=b"v" * args.size, partition=part)
        p.flush(120)
        p = None  # closes its connections before the broker stops
        for path in ("/metrics", "/v1/status"):
            times, size = [], 0
            for _ in range(args.scrapes):
                took, size = get(broker.admin, path)
                times.append(took)
            print(f"{path} with {per * 10 + 4} partitions: {size} bytes "
                  f"({size / 1024:.0f} KiB), median {statistics.median(times) * 1000:.1f} ms, "
                  f"max {max(times) * 1000:.1f} ms over {args.scrapes} requests")
    finally:
        if broker:
            broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
