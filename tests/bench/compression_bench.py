# Broker-side compression on a gateway, in one run:
#  1. Flash bytes written per byte produced: a sensor-like workload (small JSON readings from 40
#     sensors, uncompressed librdkafka producer, linger.ms=5) into a topic created with defaults,
#     once with ferry's defaults (compression.type lz4) and once with
#     [topic_defaults] compression.type = "producer" (Kafka's default, ferry's before): the
#     broker process's write_bytes (/proc/<pid>/io) over the key and value bytes the producer
#     sent, read after the last flush (flush.ms) and before the broker stops. Goal <= 0.3 with
#     defaults.
#  2. Produce throughput, 1 KiB uncompressed records, broker-side LZ4 (a topic with defaults)
#     against compression.type=producer, interleaved rounds in one broker. Goal >= 0.8.
# By hand:
#   /usr/bin/python3 tests/bench/compression_bench.py --ferry build/native/src/app/ferry
import argparse
import json
import os
import random
import sys
import time

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
    args = p.parse_args()

    print(f"flash: {args.readings} readings from {SENSORS} sensors, uncompressed producer")
    for label, cfg in (("defaults (lz4)", None),
                       ("compression.type=producer", '[topic_defaults]\n'
                                                     'compression.type = "producer"\n')):
        written, sent = flash_ratio(args.ferry, args.readings, cfg)
        print(f"  {label:28s} written {written:>11,} B / sent {sent:>11,} B = "
              f"{written / sent:.3f}")

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
