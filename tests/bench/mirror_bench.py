# Mirror throughput against the broker's own produce rate, in one run: librdkafka
# (confluent-kafka) produces a backlog to a gateway `ferry serve` whose [[mirror]] is disabled
# (the produce rate), then the gateway restarts with the mirror enabled and forwards the backlog
# to a central `ferry serve` on the same host (the drain rate, from `ferry mirror status`).
# Prints MB/s of both and their ratio (goal >= 0.8). By hand:
#   /usr/bin/python3 tests/bench/mirror_bench.py --ferry build/native/src/app/ferry [--mb 64]
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import Ferry, admin_create_topic, wait_for  # noqa: E402

PARTITIONS = 4
VALUE = 1000


def forwarded(ferry_bin, data_dir):
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=10)
    try:
        st = json.loads(r.stdout)
    except ValueError:
        return 0
    return sum(p["forwarded"] for m in st["mirrors"] for p in m["partitions"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--mb", type=int, default=64)
    p.add_argument("--compression", default="lz4")
    args = p.parse_args()
    from confluent_kafka import Producer
    records = args.mb * 1_000_000 // VALUE
    with Ferry(args.ferry) as central:
        def config(enabled):
            return f"""
[[mirror]]
name = "bench"
bootstrap.servers = "{central.bootstrap}"
topics = ["bench"]
enabled = {str(enabled).lower()}
"""
        gw = Ferry(args.ferry, config_text=config(False))
        with gw:
            admin_create_topic(gw.bootstrap, "bench", PARTITIONS)
            prod = Producer({"bootstrap.servers": gw.bootstrap, "acks": "all", "linger.ms": 5,
                             "compression.type": args.compression, "batch.size": 262144,
                             "enable.idempotence": True})
            value = (b"0123456789abcdef" * (VALUE // 16 + 1))[:VALUE]
            t0 = time.monotonic()
            for i in range(records):
                while True:
                    try:
                        prod.produce("bench", value=value, partition=i % PARTITIONS)
                        break
                    except BufferError:
                        prod.poll(0.01)
            prod.flush(120)
            produce_s = time.monotonic() - t0
            with open(gw.config_path, "w") as f:
                f.write(config(True))
            gw.restart()
            t1 = time.monotonic()
            wait_for(lambda: forwarded(args.ferry, gw.data_dir) >= records, 600,
                     "the backlog forwarded", interval_s=0.2)
            drain_s = time.monotonic() - t1
    mb = records * VALUE / 1e6
    print(f"produce (librdkafka -> gateway, {args.compression}): {mb / produce_s:.1f} MB/s "
          f"({records} records of {VALUE} B in {produce_s:.2f}s)")
    print(f"mirror drain (gateway -> central ferry): {mb / drain_s:.1f} MB/s ({drain_s:.2f}s, "
          f"status polled every 0.2s, file written every 1s)")
    print(f"ratio mirror/produce: {produce_s / drain_s:.2f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
