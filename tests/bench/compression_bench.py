# Broker-side compression on a gateway, in one run:
#  1. Flash bytes written per byte produced: a sensor-like workload (small JSON readings from 40
#     sensors, uncompressed librdkafka producer, linger.ms=5) into a topic created with defaults,
#     once with ferry's defaults (compression.type lz4) and once with
#     [topic_defaults] compression.type = "producer" (Kafka's default, ferry's before): the
#     broker process's write_bytes (/proc/<pid>/io) over the key and value bytes the producer
#     sent, read after the last flush (flush.ms) and before the broker stops. Goal <= 0.3 with
#     defaults.
#  1b. The same workload (keyed by sensor id, as it already is) into a compacted topic:
#     cleanup.policy=compact, small segment.bytes and segment.ms (so the cleaner has sealed
#     segments), other topic configs default, the broker's cleaner every log.cleaner.backoff.ms
#     = 200. After the produce, waits until the cleaner has passed over the log (its counters on
#     the admin listener's /metrics: passes, running, nothing dirty left to pick) and reports
#     write_bytes over the bytes sent, the cleaning included, with the split of
#     ferry_data_written_bytes_total by kind. Goal <= 0.5.
#  2. Produce throughput, 1 KiB uncompressed records, broker-side LZ4 (a topic with defaults)
#     against compression.type=producer, interleaved rounds in one broker. Goal >= 0.8.
# By hand:
#   /usr/bin/python3 tests/bench/compression_bench.py --ferry build/native/src/app/ferry
#   /usr/bin/python3 tests/bench/compression_bench.py --ferry build/native/src/app/ferry \
#       --only compacted          # the compacted case alone
import argparse
import json
import os
import random
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import Ferry, admin_create_topic  # noqa: E402

SENSORS = 40


def write_bytes(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def produce(bootstrap, topic, messages, conf=None):
    from confluent_kafka import Producer
    pconf = {"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5,
             "compression.type": "none"}
    pconf.update(conf or {})
    p = Producer(pconf)
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    sent = 0
    for key, value in messages:
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        sent += len(key) + len(value)
        p.poll(0)
    left = p.flush(60)
    if errors or left:
        sys.exit(f"produce to {topic} failed: {errors[:1]} ({left} undelivered)")
    return sent


def readings(n):
    rnd = random.Random(7)
    t0 = 1_760_000_000_000
    for i in range(n):
        s = i % SENSORS
        key = f"gw1/sensor-{s:02d}".encode()
        value = json.dumps({"sensor": f"sensor-{s:02d}", "ts": t0 + i * 25,
                            "temp_c": round(18 + rnd.random() * 8, 2),
                            "rh_pct": round(35 + rnd.random() * 30, 1),
                            "battery_v": round(3.0 + rnd.random() * 0.3, 3),
                            "status": "ok"}).encode()
        yield key, value


def flash_ratio(ferry_bin, n, config_text):
    with Ferry(ferry_bin, config_text=config_text, log_level="warn") as ferry:
        admin_create_topic(ferry.bootstrap, "readings", 1)
        pid = ferry.proc.pid
        before = write_bytes(pid)
        sent = produce(ferry.bootstrap, "readings", readings(n))
        time.sleep(2.5)  # flush.ms (1 s) and the recovery point after it
        written = write_bytes(pid) - before
    return written, sent


def cancelled_write_bytes(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("cancelled_write_bytes:"):
                return int(line.split()[1])
    return 0


def listening_ports(pid):
    """TCP ports the process listens on (its socket inodes matched in /proc/<pid>/net/tcp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    with open(f"/proc/{pid}/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].split(":")[1], 16))
    return ports


def admin_port(ferry):
    """The admin listener's port (admin.listen = 127.0.0.1:0 lets the kernel pick it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        others = listening_ports(ferry.proc.pid) - {ferry.port}
        if len(others) == 1:
            return others.pop()
        time.sleep(0.05)
    sys.exit("the admin listener did not come up")


def metrics(port):
    """/metrics as {name or name{labels}: value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def written_by_kind(m):
    return {k[len('ferry_data_written_bytes_total{kind="'):-2]: int(v) for k, v in m.items()
            if k.startswith("ferry_data_written_bytes_total{")}


COMPACT_CONFIG = ("[broker]\nlog.cleaner.backoff.ms = 200\n"
                  'admin.listen = "127.0.0.1:0"\n')


def compacted_flash(ferry_bin, n, segment_bytes, segment_ms, settle_s):
    """The sensor workload into a compacted topic, the cleaner's writes included."""
    with Ferry(ferry_bin, config_text=COMPACT_CONFIG, log_level="warn") as ferry:
        admin = admin_port(ferry)
        admin_create_topic(ferry.bootstrap, "readings", 1,
                           {"cleanup.policy": "compact", "segment.bytes": str(segment_bytes),
                            "segment.ms": str(segment_ms)})
        pid = ferry.proc.pid
        before = write_bytes(pid)
        cancelled_before = cancelled_write_bytes(pid)
        kinds_before = written_by_kind(metrics(admin))
        start = time.monotonic()
        sent = produce(ferry.bootstrap, "readings", readings(n))
        produce_s = time.monotonic() - start
        passes_at_end = metrics(admin).get("ferry_cleaner_passes_total", 0)
        # Wait until the cleaner has made at least one pass and then stays idle for settle_s
        # (many backoffs): no pass running and none completed, so nothing dirty enough
        # (min.cleanable.dirty.ratio) is left for it to pick.
        deadline = time.monotonic() + 120
        want = 1
        last, idle_since = None, None
        while time.monotonic() < deadline:
            m = metrics(admin)
            passes = m.get("ferry_cleaner_passes_total", 0)
            running = m.get("ferry_cleaner_running", 0)
            if passes != last or running:
                last, idle_since = passes, time.monotonic()
            elif passes >= want and time.monotonic() - idle_since >= settle_s:
                break
            time.sleep(0.1)
        else:
            sys.exit(f"the cleaner did not settle: {last} passes (wanted {want})")
        time.sleep(2.5)  # flush.ms (1 s) and the recovery point after it
        m = metrics(admin)
        written = write_bytes(pid) - before
        cancelled = cancelled_write_bytes(pid) - cancelled_before
        kinds = {k: v - kinds_before.get(k, 0) for k, v in written_by_kind(m).items()}
        logs = [os.path.join(root, f) for root, _dirs, names in os.walk(ferry.data_dir)
                if os.path.basename(root) == "readings-0" for f in names if f.endswith(".log")]
        log_bytes = sum(os.path.getsize(f) for f in logs)
    cleaner = {k: int(m.get(f"ferry_cleaner_{k}_total", 0))
               for k in ("passes", "passes_failed", "read_bytes", "written_bytes",
                         "records_removed")}
    return {"written": written, "cancelled": cancelled, "sent": sent, "kinds": kinds,
            "cleaner": cleaner, "passes_during_produce": int(passes_at_end),
            "produce_s": produce_s, "segments": len(logs),
            "log_bytes": log_bytes}


def print_compacted(r, segment_bytes, segment_ms):
    print(f"  compacted (segment.bytes {segment_bytes}, segment.ms {segment_ms}) written "
          f"{r['written']:>11,} B / sent {r['sent']:>11,} B = {r['written'] / r['sent']:.3f}"
          f"   (goal <= 0.5)")
    c = r["cleaner"]
    print(f"    produce {r['produce_s']:.1f} s; cleaner: {c['passes']} passes "
          f"({r['passes_during_produce']} during the produce, {c['passes_failed']} failed), "
          f"read {c['read_bytes']:,} B, wrote {c['written_bytes']:,} B, removed "
          f"{c['records_removed']:,} records; log left: {r['segments']} segments, "
          f"{r['log_bytes']:,} B")
    total = sum(r["kinds"].values())
    print(f"    ferry_data_written_bytes_total by kind (sum {total:,} B = "
          f"{total / r['sent']:.3f} of sent; write_bytes counts whole pages, the file system's "
          f"own writes and what later writes cancel: {r['cancelled']:,} B cancelled):")
    for k, v in sorted(r["kinds"].items(), key=lambda kv: -kv[1]):
        print(f"      {k:12s} {v:>11,} B  {v / r['sent']:.3f}")


def throughput(bootstrap, topic, n, value_bytes=1024):
    rnd = random.Random(11)
    words = ["temperature", "pressure", "ok", "sensor", "gateway", "reading", "vibration"]
    values = []
    for i in range(256):
        v = json.dumps({"seq": i, "words": [rnd.choice(words) for _ in range(40)],
                        "x": [round(rnd.random(), 4) for _ in range(40)]}).encode()
        values.append(v[:value_bytes].ljust(value_bytes, b" "))
    msgs = ((b"k%d" % (i % 16), values[i % len(values)]) for i in range(n))
    start = time.monotonic()
    produce(bootstrap, topic, msgs, {"linger.ms": 5})
    return n / (time.monotonic() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--readings", type=int, default=200_000)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", choices=("flash", "compacted", "throughput"),
                   help="run one case: the flash ratio with defaults and producer, the "
                        "compacted topic's flash ratio, or the produce throughput")
    p.add_argument("--segment-bytes", type=int, default=1_048_576,
                   help="the compacted topic's segment.bytes (ferry's minimum: 1 MiB)")
    p.add_argument("--segment-ms", type=int, default=2000,
                   help="the compacted topic's segment.ms")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds the cleaner must stay idle before the compacted figure is read")
    args = p.parse_args()
    run = (lambda case: args.only in (None, case))

    if run("flash"):
        print(f"flash: {args.readings} readings from {SENSORS} sensors, uncompressed producer")
        for label, cfg in (("defaults (lz4)", None),
                           ("compression.type=producer", '[topic_defaults]\n'
                                                         'compression.type = "producer"\n')):
            written, sent = flash_ratio(args.ferry, args.readings, cfg)
            print(f"  {label:28s} written {written:>11,} B / sent {sent:>11,} B = "
                  f"{written / sent:.3f}")

    if run("compacted"):
        print(f"flash, compacted topic: {args.readings} readings from {SENSORS} sensors keyed "
              f"by sensor, uncompressed producer, log.cleaner.backoff.ms 200")
        r = compacted_flash(args.ferry, args.readings, args.segment_bytes, args.segment_ms,
                            args.settle)
        print_compacted(r, args.segment_bytes, args.segment_ms)

    if not run("throughput"):
        return
    print(f"throughput: {args.records} x 1 KiB uncompressed records, acks=1, linger.ms=5")
    with Ferry(args.ferry, log_level="warn") as ferry:
        admin_create_topic(ferry.bootstrap, "t-lz4", 1)
        admin_create_topic(ferry.bootstrap, "t-producer", 1, {"compression.type": "producer"})
        rates = {"lz4": [], "producer": []}
        for r in range(args.rounds):
            for name in ("producer", "lz4"):
                rates[name].append(throughput(ferry.bootstrap, f"t-{name}", args.records))
        for name, v in rates.items():
            print(f"  {name:9s} msg/s per round: " + ", ".join(f"{x:,.0f}" for x in v))
        mid = args.rounds // 2
        lz, pr = sorted(rates["lz4"])[mid], sorted(rates["producer"])[mid]
        print(f"  median ratio lz4 / producer = {lz:,.0f} / {pr:,.0f} = {lz / pr:.2f}")


if __name__ == "__main__":
    main()
