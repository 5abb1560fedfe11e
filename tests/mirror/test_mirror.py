# End-to-end test of the mirror: a gateway `ferry serve` with a [[mirror]] section forwards two
# topics (LZ4 and uncompressed producers, 5 partitions) to a second `ferry serve` acting as the
# central cluster, through the fault proxy (lost responses, cut connections, stalls), while the
# gateway is killed with SIGKILL twice during forwarding and the central broker once. Checks:
# every record on the target exactly once, in order per partition, with key, value, headers and
# timestamp intact, and the target's stored batches byte-identical to the gateway's apart from
# the rewritten fields.
#
# --control runs the same with FERRY_MIRROR_UNSAFE_NO_RECONCILE=1 (resume from the local
# checkpoint with a new producer id, without looking at the target) and asserts that the same
# faults then DO produce duplicates, so the exactly-once run can fail.
import json
import os
import random
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import (CheckFailed, Ferry, check, check_eq, free_port, step, wait_for,  # noqa: E402
                     admin_create_topic, consume_assigned)
from fault_proxy import FaultProxy  # noqa: E402

TOPICS = {"m.lz4": 3, "m.plain": 2}
ROUNDS = 3
PER_PARTITION = 300  # records per partition per round


def mirror_status(ferry_bin, data_dir):
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=10)
    if not r.stdout:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def partitions_of(status):
    out = {}
    for m in (status or {}).get("mirrors", []):
        for p in m["partitions"]:
            out[(p["topic"], p["partition"])] = p
    return out


def produce_round(bootstrap, rnd, base_ts):
    from confluent_kafka import Producer
    for topic, parts in TOPICS.items():
        conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                "batch.num.messages": 40, "enable.idempotence": True,
                "compression.type": "lz4" if topic == "m.lz4" else "none"}
        p = Producer(conf)
        errors = []
        for seq in range(rnd * PER_PARTITION, (rnd + 1) * PER_PARTITION):
            for part in range(parts):
                while True:
                    try:
                        p.produce(topic, partition=part, key=f"k{part}-{seq}",
                                  value=f"{topic}:{part}:{seq}:" + "x" * (seq % 50),
                                  headers=[("seq", str(seq).encode()), ("round", str(rnd))],
                                  timestamp=base_ts + seq,
                                  on_delivery=lambda e, m: e and errors.append(str(e)))
                        break
                    except BufferError:
                        p.poll(0.05)
        left = p.flush(30)
        check(not errors and left == 0, f"{topic}: round {rnd} produced ({errors[:1]}, {left} left)")


def read_batches(data_dir, topic, partition):
    """Every batch stored in a partition's segment files, in order, as bytes."""
    d = os.path.join(data_dir, "logs", f"{topic}-{partition}")
    out = []
    for name in sorted(n for n in os.listdir(d) if n.endswith(".log")):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack_from(">i", data, pos + 8)
            if length <= 0 or pos + 12 + length > len(data):
                break
            out.append(data[pos:pos + 12 + length])
            pos += 12 + length
    return out


def masked(batch):
    """The batch without the fields the mirror (or the target) rewrites: baseOffset (0-8),
    partitionLeaderEpoch (12-16), crc (17-21), producerId/Epoch/baseSequence (43-57)."""
    b = bytearray(batch)
    for lo, hi in ((0, 8), (12, 16), (17, 21), (43, 57)):
        b[lo:hi] = bytes(hi - lo)
    return bytes(b)


def body(args, control):
    rng = random.Random(20261205)
    proxy_port = free_port()
    if control:
        os.environ["FERRY_MIRROR_UNSAFE_NO_RECONCILE"] = "1"
    else:
        os.environ.pop("FERRY_MIRROR_UNSAFE_NO_RECONCILE", None)
    central = Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{proxy_port}"])
    with central:
        proxy = FaultProxy(proxy_port, lambda: central.port, seed=7, max_lifetime_s=240)
        proxy.start()
        try:
            config = f"""
[[mirror]]
name = "central"
bootstrap.servers = "127.0.0.1:{proxy_port}"
topics = ["m\\\\..*"]
target.topic = "site.{{topic}}"
request.timeout.ms = 3000
reconnect.backoff.ms = 20
reconnect.backoff.max.ms = 300
"""
            gateway = Ferry(args.ferry, config_text=config)
            with gateway:
                run_phases(args, rng, central, proxy, gateway, control)
        finally:
            proxy.stop()
    os.environ.pop("FERRY_MIRROR_UNSAFE_NO_RECONCILE", None)


def run_phases(args, rng, central, proxy, gateway, control):
    # A target topic that exists with fewer partitions than its source: the mirror adds them.
    admin_create_topic(central.bootstrap, "site.m.plain", 1)
    for topic, parts in TOPICS.items():
        admin_create_topic(gateway.bootstrap, topic, parts)
    base_ts = 1_700_000_000_000
    kills = 0
    for rnd in range(ROUNDS):
        step(f"round {rnd}: produce at the gateway, forward through lost responses and drops")
        # Stalled answers (1-3 s, some past the 3 s request timeout) slow the forwarding down,
        # so that the SIGKILL below lands while a round is half forwarded.
        proxy.configure(lose_p=0.08, drop_p=0.03, stall_p=0.1 if rnd < 2 else 0.0)
        produce_round(gateway.bootstrap, rnd, base_ts)
        if rnd < 2:
            # SIGKILL while forwarding: once some of this round is forwarded, not all of it.
            want = (rnd + 1) * PER_PARTITION
            seen = {}

            def partly():
                st = partitions_of(mirror_status(args.ferry, gateway.data_dir))
                seen.update(st)
                fwd = sum(p["forwarded"] for p in st.values())
                return len(st) == 5 and rnd * PER_PARTITION * 5 < fwd < want * 5
            wait_for(partly, 60, "the mirror forwarding this round")
            behind = sum(want - p["forwarded"] for p in seen.values())
            check(behind > 0, f"the gateway is killed with {behind} records not yet acknowledged")
            gateway.restart(hard=True)
            kills += 1
        else:
            # The central cluster restarts (SIGKILL) while this round is being forwarded.
            print("  killing and restarting the central broker", flush=True)
            central.restart(hard=True)
    check_eq(kills, 2, "the gateway was killed twice during forwarding")

    step("faults off: wait until every partition is forwarded")
    total = ROUNDS * PER_PARTITION
    proxy.configure(lose_p=0.0, drop_p=0.0, stall_p=0.0)

    def done():
        st = partitions_of(mirror_status(args.ferry, gateway.data_dir))
        return len(st) == 5 and all(p["forwarded"] == p["source_end"] == total
                                    for p in st.values())
    wait_for(done, 90, "every partition forwarded up to its end")
    counts = proxy.counts()
    print(f"  fault proxy: {counts}", flush=True)
    check(counts["lost_responses"] > 0 and counts["drops"] > 0 and counts["stalls"] > 0,
          "the proxy lost responses, cut connections and stalled answers")
    status_text = subprocess.run([args.ferry, "mirror", "status", "--data-dir", gateway.data_dir],
                                 capture_output=True, timeout=10).stdout.decode()
    print(status_text, flush=True)

    step("compare the target with the gateway")
    duplicates = 0
    for topic, parts in TOPICS.items():
        src_meta, dst_meta = {}, {}
        want_counts = {p: total for p in range(parts)}
        src = consume_assigned(gateway.bootstrap, topic, parts, want_counts, meta=src_meta)
        dst = consume_assigned(central.bootstrap, "site." + topic, parts,
                               {p: total * (2 if control else 1) for p in range(parts)},
                               timeout_s=10 if control else 30, meta=dst_meta)
        for p in range(parts):
            s = [(k, v, src_meta[(p, o)]) for o, k, v in src[p]]
            d = [(k, v, dst_meta[(p, o)]) for o, k, v in dst[p]]
            values = [v for _, v, _ in d]
            dup = len(values) - len(set(values))
            duplicates += dup
            if control:
                continue
            check_eq(len(d), total, f"site.{topic}[{p}]: {total} records on the target")
            check_eq(dup, 0, f"site.{topic}[{p}]: no duplicates")
            check(d == s, f"site.{topic}[{p}]: keys, values, headers and timestamps equal, in order")
            sb = read_batches(gateway.data_dir, topic, p)
            db = read_batches(central.data_dir, "site." + topic, p)
            check_eq(len(db), len(sb), f"site.{topic}[{p}]: as many batches as the gateway")
            check(all(masked(x) == masked(y) for x, y in zip(sb, db)),
                  f"site.{topic}[{p}]: batches byte-identical apart from the rewritten fields")
            # The gateway stores its topics as LZ4 (compression.type default), rewriting the
            # uncompressed batches LZ4 shrinks; the target keeps each batch's stored codec.
            codecs = [b[22] & 7 for b in db]
            check_eq(codecs, [b[22] & 7 for b in sb], f"site.{topic}[{p}]: codec kept")
            check(3 in codecs, f"site.{topic}[{p}]: LZ4 batches forwarded as LZ4")
    if control:
        print(f"  CONTROL: {duplicates} duplicate records on the target without reconciliation",
              flush=True)
        check(duplicates > 0, "without reconciliation the same faults produce duplicates")
    else:
        print("  every record exactly once, in order, batches unchanged", flush=True)


def main():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--control", action="store_true")
    args = p.parse_args()
    start = time.monotonic()
    name = "mirror control" if args.control else "mirror exactly once"
    try:
        body(args, args.control)
    except CheckFailed as e:
        print(f"FAIL {name}: {e}", flush=True)
        sys.exit(1)
    print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
