# End-to-end tests of the mirror's flow control (docs/mirror.md, "Bandwidth cap and
# priorities"): a gateway `ferry serve` holds a backlog in LZ4 topics while its [[mirror]] is
# disabled, then restarts with the mirror enabled and drains it to a second `ferry serve` (the
# central cluster).
#
#   --cap       bandwidth.bytes.per.second = 500000; the mirror's connections pass through
#               link_shaper.py (no shaping, only counting), whose byte counter gives the rate
#               sent towards the target; asserted: the rate between 10% and 90% of the drain
#               within +-10% of the cap, and the whole drain no faster than the cap allows.
#   --priority  two topics with backlogs, p.hi (priority 10, 2 partitions) and p.lo (priority 0,
#               2 partitions), under a 1,000,000 B/s cap; the target's partition ends are sampled
#               every 50 ms. Asserted: when p.hi is fully forwarded, p.lo has less than 15% of its
#               backlog forwarded; halfway through p.hi both of its partitions have had turns
#               (equal priorities share); then everything arrives.
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import (CheckFailed, Ferry, admin_create_topic, check, free_port,  # noqa: E402
                     step, wait_for)
from link_shaper import LinkShaper  # noqa: E402
from mirror_harness import status_partitions  # noqa: E402

VALUE = 1000  # bytes per record, random (LZ4 leaves them at about this size)


def produce_backlog(bootstrap, topic, partitions, records, seed):
    from confluent_kafka import Producer
    rng = random.Random(seed)
    prod = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                     "compression.type": "lz4", "batch.size": 32768,
                     "enable.idempotence": True})
    errors = []
    for i in range(records):
        while True:
            try:
                prod.produce(topic, value=rng.randbytes(VALUE), partition=i % partitions,
                             on_delivery=lambda e, m: e and errors.append(str(e)))
                break
            except BufferError:
                prod.poll(0.01)
    left = prod.flush(60)
    check(not errors and left == 0, f"{records} records produced to {topic} ({errors[:1]})")


def stored_bytes(data_dir, topic, partitions):
    total = 0
    for p in range(partitions):
        d = os.path.join(data_dir, "logs", f"{topic}-{p}")
        total += sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d)
                     if n.endswith(".log"))
    return total


def mirror_config(bootstrap, enabled, extra):
    return f"""
[[mirror]]
name = "central"
bootstrap.servers = "{bootstrap}"
topics = ["[fp]\\\\..*"]
target.topic = "site.{{topic}}"
enabled = {str(enabled).lower()}
{extra}
"""


def with_backlog(args, gateway, topics, bootstrap, extra):
    """Creates the topics at both ends, produces the backlogs with the mirror disabled, then
    restarts the gateway with it enabled. Returns the restart time."""
    for topic, (parts, records) in topics.items():
        admin_create_topic(gateway.bootstrap, topic, parts)
    for i, (topic, (parts, records)) in enumerate(topics.items()):
        produce_backlog(gateway.bootstrap, topic, parts, records, seed=i)
    with open(gateway.config_path, "w") as f:
        f.write(mirror_config(bootstrap, True, extra))
    gateway.restart()
    return time.monotonic()


def all_forwarded(args, gateway, topics):
    st = status_partitions(args.ferry, gateway.data_dir)
    want = {(t, p) for t, (parts, _) in topics.items() for p in range(parts)}
    return want <= set(st) and all(st[k]["forwarded"] == st[k]["source_end"] > 0 for k in want)


def cap_body(args):
    cap = 500_000
    topics = {"f.lz4": (2, 4000)}
    shaper_port = free_port()
    with Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{shaper_port}"]) as central:
        shaper = LinkShaper(shaper_port, lambda: central.port, max_lifetime_s=120).start()
        try:
            admin_create_topic(central.bootstrap, "site.f.lz4", 2)
            gateway = Ferry(args.ferry, config_text=mirror_config("x:1", False, ""))
            with gateway:
                step(f"drain a backlog under bandwidth.bytes.per.second = {cap}")
                t0 = with_backlog(args, gateway, topics, f"127.0.0.1:{shaper_port}",
                                  f"bandwidth.bytes.per.second = {cap}")
                wait_for(lambda: all_forwarded(args, gateway, topics), 45,
                         "the backlog forwarded", interval_s=0.2)
                stored = stored_bytes(gateway.data_dir, "f.lz4", 2)
        finally:
            shaper.stop()
    samples = shaper.samples()
    sent = samples[-1][1]
    check(stored > 3_500_000, f"the backlog holds {stored} bytes of stored batches")
    print(f"  sent towards the target: {sent} bytes ({sent / stored - 1:+.2%} over the stored "
          f"batches: request framing and other requests)", flush=True)

    def at(fraction):
        return next(s for s in samples if s[1] >= fraction * sent)
    (t10, b10), (t90, b90) = at(0.1), at(0.9)
    rate = (b90 - b10) / (t90 - t10)
    whole = sent / (samples[-1][0] - samples[0][0])
    print(f"  rate 10%..90%: {rate:.0f} B/s; first to last byte: {whole:.0f} B/s; "
          f"cap {cap} B/s; restart to forwarded: {time.monotonic() - t0:.1f}s", flush=True)
    check(0.9 * cap <= rate <= 1.1 * cap, f"the rate over the drain ({rate:.0f} B/s) is within "
          f"10% of the cap")
    check(whole <= 1.1 * cap, f"the whole drain ({whole:.0f} B/s) is not faster than the cap")


def target_ends(consumer, topics):
    from confluent_kafka import TopicPartition
    out = {}
    for topic, (parts, _) in topics.items():
        for p in range(parts):
            try:
                _, hi = consumer.get_watermark_offsets(TopicPartition("site." + topic, p),
                                                       timeout=2, cached=False)
            except Exception:
                hi = 0
            out[(topic, p)] = max(hi, 0)
    return out


def priority_body(args):
    from confluent_kafka import Consumer
    topics = {"p.hi": (2, 2000), "p.lo": (2, 2000)}
    with Ferry(args.ferry) as central:
        for topic, (parts, _) in topics.items():
            admin_create_topic(central.bootstrap, "site." + topic, parts)
        gateway = Ferry(args.ferry, config_text=mirror_config("x:1", False, ""))
        with gateway:
            step("drain two backlogs of different priority under a cap")
            consumer = Consumer({"bootstrap.servers": central.bootstrap, "group.id": "probe",
                                 "allow.auto.create.topics": False})
            try:
                with_backlog(args, gateway, topics, central.bootstrap,
                             'bandwidth.bytes.per.second = 1000000\n'
                             'priorities = ["p\\\\.hi=10"]')
                samples = []
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    ends = target_ends(consumer, topics)
                    samples.append((time.monotonic(), ends))
                    if all(ends[(t, p)] >= n // parts for t, (parts, n) in topics.items()
                           for p in range(parts)):
                        break
                    time.sleep(0.05)
            finally:
                consumer.close()
            wait_for(lambda: all_forwarded(args, gateway, topics), 20, "everything forwarded",
                     interval_s=0.2)
    hi_total = topics["p.hi"][1]
    lo_total = topics["p.lo"][1]

    def hi_done(ends):
        return ends[("p.hi", 0)] + ends[("p.hi", 1)]

    def lo_done(ends):
        return ends[("p.lo", 0)] + ends[("p.lo", 1)]
    for t, ends in samples[:: max(1, len(samples) // 12)]:
        print(f"  t={t - samples[0][0]:5.2f}s p.hi {hi_done(ends):5d}/{hi_total} "
              f"p.lo {lo_done(ends):5d}/{lo_total}", flush=True)
    first_full = next((e for _, e in samples if hi_done(e) >= hi_total), None)
    check(first_full is not None, "p.hi was fully forwarded while sampling")
    check(lo_done(first_full) < 0.15 * lo_total,
          f"when p.hi is fully forwarded, p.lo has {lo_done(first_full)} of {lo_total} "
          f"records forwarded (< 15%)")
    half = next(e for _, e in samples if hi_done(e) >= hi_total // 2)
    share = min(half[("p.hi", 0)], half[("p.hi", 1)]) / max(1, hi_done(half))
    check(share >= 0.3, f"halfway through p.hi both of its partitions had turns (the smaller "
          f"one has {share:.0%} of what was forwarded)")


def main():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--cap", action="store_true")
    mode.add_argument("--priority", action="store_true")
    args = p.parse_args()
    start = time.monotonic()
    try:
        (cap_body if args.cap else priority_body)(args)
    except CheckFailed as e:
        print(f"FAIL test_flow.py: {e}", flush=True)
        sys.exit(1)
    print(f"PASS test_flow.py ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
