# Mirror drain over a slow, distant link: a backlog produced with LZ4 (incompressible values, so
# the stored batches are about as large as the data) at a gateway `ferry serve` whose [[mirror]]
# is disabled; then the gateway restarts with the mirror enabled and drains the backlog to a
# central `ferry serve` through tests/mirror/link_shaper.py (a rate limit per direction and an
# added one-way delay in each direction). Prints the achieved rate against the link's rate
# (goal >= 0.9). By hand (about 90 s for 100 MiB at 10 Mbit/s):
#   /usr/bin/python3 tests/bench/mirror_link_bench.py --ferry build/native/src/app/ferry \
#       [--mib 100] [--mbit 10] [--delay-ms 100] [--partitions 4]
import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
sys.path.insert(0, os.path.join(HERE, "..", "mirror"))

from harness import Ferry, admin_create_topic, free_port, wait_for  # noqa: E402
from link_shaper import LinkShaper  # noqa: E402

VALUE = 1024


def forwarded_all(ferry_bin, data_dir, partitions):
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=10)
    try:
        st = json.loads(r.stdout)
    except ValueError:
        return False
    parts = [p for m in st["mirrors"] for p in m["partitions"]]
    return len(parts) == partitions and all(p["forwarded"] == p["source_end"] > 0 for p in parts)


def stored_bytes(data_dir, partitions):
    total = 0
    for p in range(partitions):
        d = os.path.join(data_dir, "logs", f"bench-{p}")
        total += sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d)
                     if n.endswith(".log"))
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--mib", type=int, default=100, help="backlog size (MiB of record values)")
    p.add_argument("--mbit", type=float, default=10.0, help="link rate, Mbit/s per direction")
    p.add_argument("--delay-ms", type=int, default=100, help="added one-way delay per direction")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--producer-batch", type=int, default=262144,
                   help="batch.size of the gateway's producer (the stored batch size)")
    p.add_argument("--max-in-flight", type=int, default=5)
    args = p.parse_args()
    from confluent_kafka import Producer
    link = args.mbit * 1e6 / 8  # bytes per second
    records = args.mib * (1 << 20) // VALUE
    shaper_port = free_port()
    with Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{shaper_port}"]) as central:
        shaper = LinkShaper(shaper_port, lambda: central.port, rate_bytes_per_s=link,
                            delay_ms=args.delay_ms,
                            max_lifetime_s=120 + 3 * args.mib * (1 << 20) / link).start()
        try:
            admin_create_topic(central.bootstrap, "bench", args.partitions)

            def config(enabled):
                return f"""
[[mirror]]
name = "bench"
bootstrap.servers = "127.0.0.1:{shaper_port}"
topics = ["bench"]
enabled = {str(enabled).lower()}
max.in.flight.requests.per.connection = {args.max_in_flight}
"""
            gw = Ferry(args.ferry, config_text=config(False))
            with gw:
                admin_create_topic(gw.bootstrap, "bench", args.partitions)
                prod = Producer({"bootstrap.servers": gw.bootstrap, "acks": "all",
                                 "linger.ms": 20, "compression.type": "lz4",
                                 "batch.size": args.producer_batch, "enable.idempotence": True})
                rng = random.Random(1)
                pool = [rng.randbytes(VALUE) for _ in range(4096)]
                for i in range(records):
                    while True:
                        try:
                            prod.produce("bench", value=pool[rng.randrange(4096)][:VALUE - 8] +
                                         i.to_bytes(8, "big"), partition=i % args.partitions)
                            break
                        except BufferError:
                            prod.poll(0.01)
                prod.flush(300)
                prod = None  # closes its connections before the gateway restarts
                stored = stored_bytes(gw.data_dir, args.partitions)
                with open(gw.config_path, "w") as f:
                    f.write(config(True))
                gw.restart()
                t0 = time.monotonic()
                wait_for(lambda: forwarded_all(args.ferry, gw.data_dir, args.partitions),
                         60 + 3 * stored / link, "the backlog forwarded", interval_s=0.2)
                done_s = time.monotonic() - t0
        finally:
            shaper.stop()
    samples = shaper.samples()
    sent = samples[-1][1]

    def at(fraction):
        return next(s for s in samples if s[1] >= fraction * sent)
    (t10, b10), (t90, b90) = at(0.1), at(0.9)
    steady = (b90 - b10) / (t90 - t10)
    whole = stored / done_s
    print(f"backlog: {records} records, {stored / (1 << 20):.1f} MiB of stored LZ4 batches in "
          f"{args.partitions} partitions; link {args.mbit:g} Mbit/s = {link:.0f} B/s per "
          f"direction, +{args.delay_ms} ms each way; max.in.flight {args.max_in_flight}")
    print(f"sent towards the target: {sent} bytes ({sent / stored - 1:+.2%} over the stored "
          f"batches)")
    print(f"steady rate (10%..90% of the bytes): {steady:.0f} B/s = {steady / link:.3f} of the "
          f"link")
    print(f"whole drain (restart to all forwarded in the status file, 1 s granularity): "
          f"{done_s:.1f}s, {whole:.0f} B/s of stored batches = {whole / link:.3f} of the link "
          f"(goal >= 0.9)")


if __name__ == "__main__":
    main()
