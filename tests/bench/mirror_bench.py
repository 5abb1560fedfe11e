# Mirror throughput against the broker's own produce rate, in one run: librdkafka
# (confluent-kafka) produces a backlog to a gateway `ferry serve` whose [[mirror]] is disabled
# (the produce rate), then the gateway restarts with the mirror enabled and forwards the backlog
# to a central `ferry serve` on the same host (the drain rate, from `ferry mirror status`).
# Prints MB/s of both and their ratio (goal >= 0.8); the gateway's CPU time (utime + stime of
# /proc/PID/stat, from its start to the end of the drain, start-up included) per MB forwarded
# (goal <= 5 ms/MB: 5% of a core per 10 MB/s); and the gateway's peak RSS (VmHWM) with the
# mirror draining vs the same data directory started without the mirror and left as long.
# By hand:
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


def status_sum(ferry_bin, data_dir, field):
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=10)
    try:
        st = json.loads(r.stdout)
    except ValueError:
        return 0
    return sum(p[field] for m in st["mirrors"] for p in m["partitions"])


def forwarded(ferry_bin, data_dir):
    return status_sum(ferry_bin, data_dir, "forwarded")


def cpu_s(pid):
    # utime + stime (fields 14 and 15 of /proc/PID/stat, after the command's closing paren).
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--mb", type=int, default=64)
    p.add_argument("--compression", default="lz4")
    p.add_argument("--random-values", action="store_true",
                   help="incompressible values (a pool of 256 random ones), so the stored "
                        "batches are as large as the records")
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
            pool = [os.urandom(VALUE) for _ in range(256)] if args.random_values else [value]
            t0 = time.monotonic()
            for i in range(records):
                while True:
                    try:
                        prod.produce("bench", value=pool[(i // PARTITIONS) % len(pool)],
                                     partition=i % PARTITIONS)
                        break
                    except BufferError:
                        prod.poll(0.01)
            prod.flush(120)
            produce_s = time.monotonic() - t0
            produce_rss = peak_rss_mb(gw.proc.pid)
            with open(gw.config_path, "w") as f:
                f.write(config(True))
            gw.restart()
            t1 = time.monotonic()
            wait_for(lambda: forwarded(args.ferry, gw.data_dir) >= records, 600,
                     "the backlog forwarded", interval_s=0.2)
            drain_s = time.monotonic() - t1
            drain_cpu = cpu_s(gw.proc.pid)
            mirror_rss = peak_rss_mb(gw.proc.pid)
            time.sleep(1.2)  # the status file's next write has the last acknowledgement's bytes
            stored_mb = status_sum(args.ferry, gw.data_dir, "bytes_sent") / 1e6
            # The same data directory without the mirror, alive as long as the drain took.
            with open(gw.config_path, "w") as f:
                f.write(config(False))
            gw.restart()
            time.sleep(drain_s)
            idle_cpu = cpu_s(gw.proc.pid)
            plain_rss = peak_rss_mb(gw.proc.pid)
    mb = records * VALUE / 1e6
    print(f"produce (librdkafka -> gateway, {args.compression}): {mb / produce_s:.1f} MB/s "
          f"({records} records of {VALUE} B in {produce_s:.2f}s)")
    print(f"mirror drain (gateway -> central ferry): {mb / drain_s:.1f} MB/s ({drain_s:.2f}s, "
          f"status polled every 0.2s, file written every 1s)")
    print(f"ratio mirror/produce: {produce_s / drain_s:.2f} (goal >= 0.8)")
    print(f"gateway CPU during the drain (start-up included): {drain_cpu:.2f}s = "
          f"{drain_cpu * 1000 / mb:.2f} ms per MB of records forwarded, "
          f"{drain_cpu * 1000 / max(stored_mb, 1e-9):.2f} ms per MB of stored batches sent "
          f"({stored_mb:.1f} MB) (goal <= 5 ms/MB = 5% of a core per 10 MB/s); the same start "
          f"without the mirror, as long: {idle_cpu:.2f}s; the difference per MB of stored batches: "
          f"{(drain_cpu - idle_cpu) * 1000 / max(stored_mb, 1e-9):.2f} ms")
    print(f"gateway peak RSS (VmHWM): {mirror_rss:.1f} MB draining with the mirror, "
          f"{plain_rss:.1f} MB without it (same data, as long): the mirror adds "
          f"{mirror_rss - plain_rss:.1f} MB; {produce_rss:.1f} MB while librdkafka produced")


if __name__ == "__main__":
    main()
