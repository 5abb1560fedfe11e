#!/usr/bin/python3
# Idempotent producers under real faults, with confluent-kafka-python (librdkafka): no batch is
# stored twice and no partition is reordered, although responses are lost, connections dropped
# and ferry is killed with SIGKILL while the producer runs.
#
# The client talks to ferry only through fault_proxy.FaultProxy (ferry advertises the proxy's
# address, so every connection the client opens goes through it). The proxy swallows Produce
# responses after ferry has sent them (the batch is stored, the client retries it), drops
# connections at random moments and sometimes holds responses for a second or two.
#
#   1. Control: 5000 messages with enable.idempotence=false, acks=all, retries, 5 requests in
#      flight, through the same lossy proxy. Read back directly from ferry, they must contain
#      duplicates: the faults do cause duplicates when nothing deduplicates (otherwise the main
#      check below would prove nothing).
#   2. 100000 messages, payload = the global sequence number (b"%08d"), partition = i % 4, with
#      enable.idempotence=true and acks=all through the proxy, while ferry is killed with SIGKILL
#      twice (after ~30% and ~65% of the delivery reports) and restarted on the same data
#      directory and port. Every delivery report must be a success. Read back directly from
#      ferry (restarted with SIGTERM without the proxy's address): every sequence number exactly
#      once, in its partition, strictly increasing within each partition. The proxy must have
#      lost a minimum of Produce responses, and ferry's logs must show it answered retried
#      batches from its producer state ("duplicate batch"). Each kill comes right after the
#      proxy has lost a Produce response (and it keeps losing them until ferry is down), so the
#      client has stored-but-unacknowledged batches to retry against the restarted ferry: the
#      log of each restarted run must show such a "duplicate batch" answer, which only the
#      producer state persisted across SIGKILL can give.
#
# FERRY_COMPAT_SEED sets the proxy's random seed (printed; default fixed).
import glob
import os
import sys
import time

import harness
from harness import check, check_eq, step, CheckFailed
from fault_proxy import FaultProxy

PARTS = 4
N_CONTROL = 5000
N_MAIN = 100000
KILL_AT = (0.30, 0.65)
MIN_LOST = 5           # lost Produce responses the main run must have seen
SEED = int(os.environ.get("FERRY_COMPAT_SEED", "20261125"))

# Main run: lost responses on ~10% of Produce requests, drops on ~1% of requests, stalls on 1%.
FAULTS_MAIN = dict(lose_p=0.10, drop_p=0.01, stall_p=0.01)
FAULTS_CONTROL = dict(lose_p=0.12, drop_p=0.01, stall_p=0.0)

PRODUCER_BASE = {
    "acks": "all",
    "linger.ms": 5,
    "message.timeout.ms": 120000,
    "request.timeout.ms": 15000,
    "retry.backoff.ms": 50,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "socket.connection.setup.timeout.ms": 5000,
    "log.connection.close": False,
}


def produce(bootstrap, topic, n, conf, on_progress=None, deadline_s=120):
    """Produces values b"%08d" % i to partition i % PARTS; returns (delivered, errors)."""
    from confluent_kafka import KafkaException
    try:
        return _produce(bootstrap, topic, n, conf, on_progress, deadline_s)
    except KafkaException as e:
        raise CheckFailed(f"{topic}: the producer failed: {e}")


def _produce(bootstrap, topic, n, conf, on_progress, deadline_s):
    from confluent_kafka import Producer
    pconf = dict(PRODUCER_BASE, **{"bootstrap.servers": bootstrap})
    pconf.update(conf)
    p = Producer(pconf)
    state = {"ok": 0, "errors": []}

    def on_delivery(err, msg):
        if err is not None:
            state["errors"].append(f"{msg.value()!r} [{msg.partition()}]: {err}")
        else:
            state["ok"] += 1

    deadline = time.monotonic() + deadline_s
    i = 0
    while i < n:
        try:
            p.produce(topic, value=b"%08d" % i, partition=i % PARTS, on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
            if on_progress:
                on_progress(state["ok"])
        if time.monotonic() > deadline:
            raise CheckFailed(f"{topic}: could not even queue {n} messages in {deadline_s}s")
    while state["ok"] + len(state["errors"]) < n and time.monotonic() < deadline:
        p.poll(0.05)
        if on_progress:
            on_progress(state["ok"])
    left = p.flush(max(0.0, min(5.0, deadline - time.monotonic())))
    if left:
        raise CheckFailed(f"{topic}: {left} of {n} messages without a delivery report after "
                          f"{deadline_s}s ({state['ok']} delivered, {len(state['errors'])} errors)")
    return state["ok"], state["errors"]


def read_direct(ferry, proxy_addr, topic):
    """Restarts ferry (SIGTERM) without advertising the proxy, reads `topic` from the beginning
    straight from ferry, and starts ferry again advertising the proxy. Returns
    {partition: [(offset, value)]}."""
    from confluent_kafka import Consumer, TopicPartition
    advertised = ["--advertised", proxy_addr]
    ferry.extra_args = [a for a in ferry.extra_args if a not in advertised]
    ferry.restart(hard=False)
    try:
        c = Consumer({"bootstrap.servers": ferry.bootstrap, "group.id": "ferry-compat-unused"})
        try:
            highs = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1]
                     for p in range(PARTS)}
        finally:
            c.close()
        print(f"  {topic}: high watermarks {highs}", flush=True)
        got = harness.consume_assigned(ferry.bootstrap, topic, PARTS, highs, timeout_s=60,
                                       extra={"fetch.max.bytes": 8 << 20})
        for p in range(PARTS):
            check_eq(len(got[p]), highs[p], f"{topic}[{p}]: read up to the high watermark")
    finally:
        ferry.extra_args += advertised
        ferry.restart(hard=False)
    return {p: [(o, v) for o, _k, v in recs] for p, recs in got.items()}


def analyse(topic, got, n):
    """Counts duplicates, missing sequence numbers, records in the wrong partition and order
    violations; prints a summary and returns it."""
    seen = {}
    dups, wrong_part, disorder = [], [], []
    for p in range(PARTS):
        prev = None
        for off, v in got.get(p, []):
            s = int(v)
            if s in seen:
                dups.append((s, seen[s], (p, off)))
            else:
                seen[s] = (p, off)
            if s % PARTS != p:
                wrong_part.append((s, p, off))
            if prev is not None and s <= prev:
                disorder.append((p, off, prev, s))
            prev = s
    missing = sorted(set(range(n)) - set(seen))
    total = sum(len(v) for v in got.values())
    print(f"  {topic}: {total} records read, {len(seen)} distinct, {len(dups)} duplicates "
          f"(first: {dups[:5]}), {len(missing)} missing (first: {missing[:5]}), "
          f"{len(disorder)} order violations (first as (partition, offset, prev, seq): "
          f"{disorder[:5]}), {len(wrong_part)} in a wrong partition", flush=True)
    return {"dups": dups, "missing": missing, "disorder": disorder, "wrong_part": wrong_part}


def duplicate_log_lines(ferry, starts=None):
    """Ferry's "duplicate batch" log lines, of every run or of the runs numbered in `starts`."""
    lines = []
    paths = glob.glob(os.path.join(ferry.workdir, "ferry-*.log"))
    for path in sorted(paths, key=lambda x: int(x.rsplit("-", 1)[1].split(".")[0])):
        n = int(path.rsplit("-", 1)[1].split(".")[0])
        if starts is not None and n not in starts:
            continue
        with open(path, "rb") as f:
            lines += [l for l in f.read().decode(errors="replace").splitlines()
                      if "duplicate batch" in l]
    return lines


def kill_after_lost_response(ferry, proxy, faults):
    """SIGKILL at a moment when the broker holds a batch whose response the client never got:
    the proxy loses every Produce response until one is lost, ferry is killed at once (still
    losing them all), then restarted with `faults` restored. The client must retry those batches
    against the restarted ferry, which can only recognise them from the producer state it
    persisted. Returns (responses lost just before the kill, number of the new ferry run)."""
    before = proxy.counts()["lost_responses"]
    proxy.configure(lose_p=1.0)
    try:
        harness.wait_for(lambda: proxy.counts()["lost_responses"] > before, 10,
                         "a Produce response lost just before the kill", interval_s=0.005)
    finally:
        lost = proxy.counts()["lost_responses"] - before
        ferry.kill9()
        proxy.configure(**faults)
    ferry.fixed_port = True
    ferry.start()
    return lost, ferry.starts


def check_faults_and_read_back(ferry, proxy_addr, topic, n, kills, faults):
    """The checks after an idempotent run under faults: the faults happened (each kill right
    after lost responses), and `topic` read back directly from ferry holds sequence numbers
    0..n-1 exactly once, in their partitions, in order; and ferry answered retried batches from
    its producer state, also after each restart."""
    for delivered, lost, run in kills:
        check(lost > 0, f"kill at {delivered}: {lost} Produce responses lost just before it")
    check(faults["lost_responses"] >= MIN_LOST,
          f"the proxy lost {faults['lost_responses']} Produce responses (>= {MIN_LOST})")

    step("read back directly from ferry")
    got = read_direct(ferry, proxy_addr, topic)
    res = analyse(topic, got, n)
    check_eq(res["wrong_part"][:5], [], "every sequence number in partition i % 4")
    check_eq(res["dups"][:5], [], f"no sequence number stored twice ({len(res['dups'])} "
             "duplicates)")
    check_eq(res["missing"][:5], [], f"no sequence number missing ({len(res['missing'])} "
             "missing)")
    check_eq(res["disorder"][:5], [], "sequence numbers strictly increase in each partition")
    check(True, f"all {n} sequence numbers exactly once, in order per partition")
    lines = duplicate_log_lines(ferry)
    check(len(lines) > 0, f"ferry answered {len(lines)} retried batches from its producer "
          "state ('duplicate batch' in its logs)")
    for l in lines[:3]:
        print(f"    | {l}", flush=True)
    for delivered, lost, run in kills:
        after_kill = duplicate_log_lines(ferry, {run})
        check(len(after_kill) > 0, f"after the kill at {delivered}, the restarted ferry "
              f"(run {run}) answered {len(after_kill)} retried batches from its persisted "
              "producer state")
        print(f"    | {after_kill[0]}", flush=True)


def body(args):
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        print("SKIP: confluent-kafka-python is not installed (python3-confluent-kafka)")
        sys.exit(77)

    proxy_port = harness.free_port()
    proxy_addr = f"127.0.0.1:{proxy_port}"
    with harness.Ferry(args.ferry, extra_args=["--advertised", proxy_addr]) as ferry, \
            FaultProxy(proxy_port, lambda: ferry.port, seed=SEED, max_lifetime_s=280) as proxy:
        harness.admin_create_topic(proxy_addr, "idem-control", PARTS)
        harness.admin_create_topic(proxy_addr, "idem-main", PARTS)

        step(f"control: {N_CONTROL} messages, enable.idempotence=false, through the lossy proxy")
        proxy.configure(**FAULTS_CONTROL)
        before = proxy.counts()
        t0 = time.monotonic()
        ok, errors = produce(proxy_addr, "idem-control", N_CONTROL, {
            "enable.idempotence": False, "max.in.flight.requests.per.connection": 5,
            "batch.num.messages": 50})
        proxy.configure(lose_p=0, drop_p=0, stall_p=0)
        after = proxy.counts()
        faults = {k: after[k] - before[k] for k in after}
        print(f"  control produce took {time.monotonic() - t0:.1f}s; proxy: {faults}", flush=True)
        check_eq(errors, [], "control: every delivery report is a success")
        check_eq(ok, N_CONTROL, f"control: {N_CONTROL} messages delivered")
        check(faults["lost_responses"] > 0, f"control: the proxy lost {faults['lost_responses']} "
              "Produce responses")
        got = read_direct(ferry, proxy_addr, "idem-control")
        res = analyse("idem-control", got, N_CONTROL)
        check_eq(res["missing"], [], "control: nothing missing")
        check(len(res["dups"]) > 0, f"control: without idempotence the lost responses cause "
              f"duplicates ({len(res['dups'])})")

        step(f"{N_MAIN} messages, enable.idempotence=true, lossy proxy, SIGKILL twice")
        proxy.configure(**FAULTS_MAIN)
        before = proxy.counts()
        kills = []

        def on_progress(delivered):
            if len(kills) < len(KILL_AT) and delivered >= KILL_AT[len(kills)] * N_MAIN:
                print(f"  {delivered} of {N_MAIN} delivered: kill -9 once a response is lost",
                      flush=True)
                kills.append((delivered,) + kill_after_lost_response(ferry, proxy, FAULTS_MAIN))

        t0 = time.monotonic()
        ok, errors = produce(proxy_addr, "idem-main", N_MAIN, {
            "enable.idempotence": True, "batch.num.messages": 500}, on_progress=on_progress)
        took = time.monotonic() - t0
        proxy.configure(lose_p=0, drop_p=0, stall_p=0)
        after = proxy.counts()
        faults = {k: after[k] - before[k] for k in after}
        print(f"  idempotent produce took {took:.1f}s; proxy: {faults}", flush=True)
        check_eq(errors[:5], [], f"every delivery report is a success ({len(errors)} errors)")
        check_eq(ok, N_MAIN, f"{N_MAIN} messages delivered")
        check_eq(len(kills), 2, "ferry was killed with SIGKILL twice during the run (at "
                 f"{[k[0] for k in kills]} delivered)")
        check_faults_and_read_back(ferry, proxy_addr, "idem-main", N_MAIN, kills, faults)


if __name__ == "__main__":
    harness.main("idempotent producer (confluent-kafka) under faults against ferry", body)
