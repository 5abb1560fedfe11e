# End-to-end fault scenarios of the mirror beyond test_mirror.py's lost responses and drops: a
# gateway `ferry serve` with a [[mirror]] section forwards to a second `ferry serve` (the central
# cluster) while producers keep producing sequence-numbered records to LZ4 and uncompressed
# topics at the gateway. After each scenario every record stored at the gateway is on the target
# exactly once, in order per partition, with keys, values, headers and timestamps equal, and the
# target's stored batches are the gateway's apart from the rewritten fields.
#
#   --scenario flap      link outages (the fault proxy cuts every connection and refuses new
#                        ones for 50-500 ms) and SIGKILLs of the gateway (restarted each time)
#                        during continuous production. CI: 40 outages, 2 kills; --long (or
#                        FERRY_MIRROR_LONG=1): 200 outages, 5 kills.
#   --scenario blackout  a black hole of 15 s (--long: 25 s frozen, then 25 s cut) during
#                        production: open connections freeze, new ones are held without an
#                        answer; then a days-offline backlog: the target refuses connections
#                        while 4 MB (--long: 100 MB) of records timestamped three days ago
#                        accumulate; nothing may be forwarded meanwhile; after reconnect the
#                        backlog drains (the drain rate is printed).
#   --scenario sasl      the target's only listener is SASL_SSL (SCRAM-SHA-256): one mirror with
#                        the right password forwards exactly once (across a SIGKILL of the
#                        gateway); a second mirror with a wrong password forwards nothing and
#                        shows the authentication error in `ferry mirror status --json`.
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
sys.path.insert(0, HERE)

from harness import (CheckFailed, Ferry, check, check_eq, free_port,  # noqa: E402
                     run, step, wait_for, admin_create_topic, consume_assigned)
from fault_proxy import FaultProxy  # noqa: E402
from test_mirror import masked, mirror_status, partitions_of, read_batches  # noqa: E402

MAKE_CERTS = os.path.join(HERE, "..", "support", "make_certs.sh")
DAY_MS = 86_400_000


def mirror_config(name, bootstrap, topics_re, template, extra=""):
    return f"""
[[mirror]]
name = "{name}"
bootstrap.servers = "{bootstrap}"
topics = ["{topics_re}"]
target.topic = "{template}"
request.timeout.ms = 3000
reconnect.backoff.ms = 20
reconnect.backoff.max.ms = 300
{extra}"""


class Producers:
    """One thread producing sequence-numbered records to every partition of `topics` (dict
    topic -> (partitions, codec)) at the gateway until stop(): `per_second` records per
    partition, idempotent, acks=all, long message timeouts (the gateway may be killed). Keeps
    the acknowledged sequence numbers per (topic, partition)."""

    def __init__(self, bootstrap, topics, per_second=200, value_pad=40, ts_offset_ms=0):
        self.bootstrap = bootstrap
        self.topics = topics
        self.per_second = per_second
        self.value_pad = value_pad
        self.ts_offset_ms = ts_offset_ms
        self.acked = {(t, p): set() for t, (n, _) in topics.items() for p in range(n)}
        self.errors = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="producers")

    def start(self):
        self._thread.start()
        return self

    def _producer(self, codec):
        from confluent_kafka import Producer
        return Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 5,
                         "enable.idempotence": True, "compression.type": codec,
                         "message.timeout.ms": 120000, "socket.timeout.ms": 5000,
                         "reconnect.backoff.max.ms": 200})

    def _run(self):
        producers = {t: self._producer(codec) for t, (_, codec) in self.topics.items()}
        seq = 0
        start = time.monotonic()
        while not self._stop.is_set():
            # Paced: seq / per_second seconds after the start.
            ahead = seq / self.per_second - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
            for topic, (parts, _) in self.topics.items():
                p = producers[topic]
                for part in range(parts):
                    self._produce(p, topic, part, seq)
                p.poll(0)
            seq += 1
        for topic, p in producers.items():
            left = p.flush(90)
            if left:
                self.errors.append(f"{topic}: {left} records not delivered")

    def _produce(self, p, topic, part, seq):
        def report(err, _msg, key=(topic, part), s=seq):
            if err is not None:
                self.errors.append(f"{key}: {err}")
            else:
                self.acked[key].add(s)
        while True:
            try:
                p.produce(topic, partition=part, key=f"k{part}-{seq}",
                          value=f"{topic}:{part}:{seq}:" + "x" * (seq % self.value_pad),
                          headers=[("seq", str(seq).encode())],
                          timestamp=int(time.time() * 1000) - self.ts_offset_ms,
                          on_delivery=report)
                self.sent += 1
                return
            except BufferError:
                p.poll(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(120)
        check(not self._thread.is_alive(), "the producers stopped")
        check(not self.errors, f"every record produced at the gateway was acknowledged "
                               f"({len(self.errors)} errors, first: {self.errors[:1]})")


def log_ends(bootstrap, topics):
    """The gateway's high watermarks, asked over Kafka (the status file is a periodic snapshot
    whose source_end may trail the log by one interval)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ferry-mirror-test-ends"})
    try:
        return {(t, p): c.get_watermark_offsets(TopicPartition(t, p), timeout=15)[1]
                for t, (n, _) in topics.items() for p in range(n)}
    finally:
        c.close()


def wait_forwarded(ferry_bin, gateway, topics, timeout_s, mirror="central"):
    """Waits until every partition of `topics` is forwarded up to the end its log has now (the
    producers have stopped); returns the seconds it took and the status rows."""
    want = sum(n for n, _ in topics.values())
    ends = log_ends(gateway.bootstrap, topics)
    start = time.monotonic()
    rows = {}

    def done():
        st = mirror_status(ferry_bin, gateway.data_dir)
        mine = {"mirrors": [m for m in (st or {}).get("mirrors", []) if m["name"] == mirror]}
        rows.clear()
        rows.update({k: v for k, v in partitions_of(mine).items() if k[0] in topics})
        return len(rows) == want and all(r["forwarded"] == r["source_end"] and
                                         r["source_end"] >= ends[k] and
                                         r["state"] == "forwarding" for k, r in rows.items())
    try:
        wait_for(done, timeout_s, "every partition forwarded up to its end", interval_s=0.1)
    except CheckFailed:
        print(f"  status rows: {list(rows.values())}", flush=True)
        raise
    return time.monotonic() - start, dict(rows)


def compare(gateway, central, topics, prefix, acked=None, byte_compare=True):
    """Every record the gateway holds is on the target exactly once and in order (keys, values,
    headers, timestamps), every acknowledged sequence number among them; batches compared."""
    records = 0
    # The gateway's partition ends, from the last status finish() read.
    rows = partitions_of(mirror_status_cached[0])
    for topic, (parts, codec) in topics.items():
        ends = {p: rows[(topic, p)]["source_end"] for p in range(parts)}
        src_meta, dst_meta = {}, {}
        src = consume_assigned(gateway.bootstrap, topic, parts, ends, timeout_s=120,
                               meta=src_meta)
        dst = consume_assigned(central.bootstrap, prefix + topic, parts, ends, timeout_s=120,
                               meta=dst_meta)
        for p in range(parts):
            s = [(k, v, src_meta[(p, o)]) for o, k, v in src[p]]
            d = [(k, v, dst_meta[(p, o)]) for o, k, v in dst[p]]
            check_eq(len(s), ends[p], f"{topic}[{p}]: the gateway's {ends[p]} records read")
            values = [v for _, v, _ in d]
            check_eq(len(values) - len(set(values)), 0, f"{prefix}{topic}[{p}]: no duplicates")
            check_eq(len(d), len(s), f"{prefix}{topic}[{p}]: {len(s)} records on the target")
            first = next((i for i in range(len(s)) if s[i] != d[i]), None)
            check(first is None, f"{prefix}{topic}[{p}]: keys, values, headers, timestamps equal, "
                                 f"in order" + ("" if first is None else
                                                f" (record {first}: gateway {s[first][:2]}, "
                                                f"target {d[first][:2]})"))
            seqs = [int(v.split(b":")[2]) for v in values]
            check(seqs == sorted(seqs), f"{prefix}{topic}[{p}]: sequence numbers increasing")
            if acked is not None:
                missing = acked[(topic, p)] - set(seqs)
                check_eq(len(missing), 0, f"{prefix}{topic}[{p}]: every acknowledged record "
                                          f"({len(acked[(topic, p)])}) on the target")
            if byte_compare:
                sb = read_batches(gateway.data_dir, topic, p)
                db = read_batches(central.data_dir, prefix + topic, p)
                check_eq(len(db), len(sb), f"{prefix}{topic}[{p}]: as many batches as the gateway")
                check(all(masked(x) == masked(y) for x, y in zip(sb, db)),
                      f"{prefix}{topic}[{p}]: batches equal apart from the rewritten fields")
                # The gateway stores its topics as LZ4 (compression.type default); an
                # uncompressed batch LZ4 would not shrink stays uncompressed (librdkafka does
                # the same). The target keeps each batch's stored codec.
                codecs = [b[22] & 7 for b in db]
                check(codecs == [b[22] & 7 for b in sb] and 3 in codecs,
                      f"{prefix}{topic}[{p}]: codec kept ({set(codecs)})")
            records += len(d)
    return records


# The last status read by finish(); compare() takes the partition ends from it.
mirror_status_cached = [None]


def finish(args, gateway, central, topics, prefix, acked, timeout_s=120):
    step("faults off: wait until every partition is forwarded, then compare")
    secs, _ = wait_forwarded(args.ferry, gateway, topics, timeout_s)
    mirror_status_cached[0] = mirror_status(args.ferry, gateway.data_dir)
    print(f"  caught up {secs:.1f}s after the faults ended", flush=True)
    return compare(gateway, central, topics, prefix, acked)


def behind_now(args, gateway):
    st = partitions_of(mirror_status(args.ferry, gateway.data_dir))
    return sum(r["source_end"] - r["forwarded"] for r in st.values())


# ---- flapping soak ---------------------------------------------------------------------------

def scenario_flap(args):
    outages, kills = (200, 5) if args.long else (40, 2)
    rng = random.Random(args.seed)
    topics = {"f.lz4": (3, "lz4"), "f.plain": (2, "none")}
    proxy_port = free_port()
    central = Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{proxy_port}"])
    start = time.monotonic()
    with central:
        proxy = FaultProxy(proxy_port, lambda: central.port, seed=args.seed, max_lifetime_s=1800)
        proxy.start()
        try:
            gateway = Ferry(args.ferry, config_text=mirror_config(
                "central", f"127.0.0.1:{proxy_port}", "f\\\\..*", "site.{topic}"))
            with gateway:
                for t, (n, _) in topics.items():
                    admin_create_topic(gateway.bootstrap, t, n)
                prod = Producers(gateway.bootstrap, topics, per_second=150).start()
                kill_at = set(rng.sample(range(5, outages), kills))
                step(f"{outages} link outages of 50-500 ms and {kills} SIGKILLs of the gateway "
                     "while producing")
                killed = 0
                for i in range(outages):
                    time.sleep(rng.uniform(0.05, 0.5))
                    proxy.outage(rng.uniform(0.05, 0.5))
                    proxy.wait_link_up()
                    if i in kill_at:
                        behind = behind_now(args, gateway)
                        check(behind > 0, f"outage {i}: the gateway is killed with {behind} "
                                          "records not yet forwarded")
                        gateway.restart(hard=True)
                        killed += 1
                fault_s = time.monotonic() - start
                prod.stop()
                counts = proxy.counts()
                print(f"  fault proxy: {counts}", flush=True)
                check_eq(counts["outages"], outages, "outages")
                check(counts["refused_down"] > 0, "connections were refused during outages")
                check_eq(killed, kills, "SIGKILLs of the gateway")
                records = finish(args, gateway, central, topics, "site.", prod.acked)
                st = mirror_status(args.ferry, gateway.data_dir)
                reconnects = st["mirrors"][0]["reconnects"] if st else -1
        finally:
            proxy.stop()
    print(f"  FIGURES flap: {outages} outages, {kills} gateway SIGKILLs, {records} records "
          f"({prod.sent} produced) exactly once; faults {fault_s:.1f}s, total "
          f"{time.monotonic() - start:.1f}s; reconnects since the last start {reconnects}",
          flush=True)


# ---- blackouts and a days-offline backlog -----------------------------------------------------

def log_bytes(data_dir, topics):
    total = 0
    for t, (n, _) in topics.items():
        for p in range(n):
            d = os.path.join(data_dir, "logs", f"{t}-{p}")
            total += sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                         if f.endswith(".log"))
    return total


def produce_backlog(bootstrap, topics, total_bytes, value_size, ts_offset_ms, first_seq):
    """Produces about `total_bytes` of values (random, so LZ4 cannot shrink them much) spread
    over every partition; returns the acknowledged sequence numbers per partition."""
    from confluent_kafka import Producer
    acked = {(t, p): set() for t, (n, _) in topics.items() for p in range(n)}
    errors = []
    per_part = total_bytes // value_size // sum(n for n, _ in topics.values())
    rnd = random.Random(5)
    ts = int(time.time() * 1000) - ts_offset_ms
    for topic, (parts, codec) in topics.items():
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20,
                      "enable.idempotence": True, "compression.type": codec,
                      "batch.size": 256 * 1024, "queue.buffering.max.kbytes": 65536})
        for seq in range(first_seq, first_seq + per_part):
            for part in range(parts):
                value = f"{topic}:{part}:{seq}:".encode() + rnd.randbytes(value_size)

                def report(err, _m, key=(topic, part), s=seq):
                    if err is not None:
                        errors.append(str(err))
                    else:
                        acked[key].add(s)
                while True:
                    try:
                        p.produce(topic, partition=part, key=f"k{part}-{seq}", value=value,
                                  headers=[("seq", str(seq).encode())], timestamp=ts + seq,
                                  on_delivery=report)
                        break
                    except BufferError:
                        p.poll(0.05)
        check_eq(p.flush(120), 0, f"{topic}: backlog delivered")
    check(not errors, f"backlog produced without errors ({errors[:1]})")
    return acked, per_part


def scenario_blackout(args):
    topics = {"b.lz4": (2, "lz4"), "b.plain": (1, "none")}
    blackouts = [(25, True), (25, False)] if args.long else [(15, True)]
    backlog_bytes = (100 if args.long else 4) * 1024 * 1024
    proxy_port = free_port()
    central = Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{proxy_port}"])
    start = time.monotonic()
    with central:
        proxy = FaultProxy(proxy_port, lambda: central.port, seed=args.seed, max_lifetime_s=1800)
        proxy.start()
        try:
            gateway = Ferry(args.ferry, config_text=mirror_config(
                "central", f"127.0.0.1:{proxy_port}", "b\\\\..*", "site.{topic}"))
            with gateway:
                for t, (n, _) in topics.items():
                    admin_create_topic(gateway.bootstrap, t, n)
                prod = Producers(gateway.bootstrap, topics, per_second=200).start()
                wait_for(lambda: behind_now(args, gateway) >= 0 and
                         sum(r["forwarded"] for r in partitions_of(
                             mirror_status(args.ferry, gateway.data_dir)).values()) > 100,
                         30, "forwarding under way")
                for secs, freeze in blackouts:
                    step(f"blackout of {secs}s ({'open connections frozen' if freeze else 'cut'}"
                         ", new ones held) while producing")
                    before = partitions_of(mirror_status(args.ferry, gateway.data_dir))
                    proxy.blackout(secs, freeze=freeze)
                    # Within the blackout: after the request timeout nothing more is forwarded.
                    time.sleep(min(6.0, secs / 2))
                    mid = partitions_of(mirror_status(args.ferry, gateway.data_dir))
                    time.sleep(secs / 2 - 1.0 if secs / 2 > 6.0 else 2.0)
                    late = partitions_of(mirror_status(args.ferry, gateway.data_dir))
                    check(proxy.link_down(), "the blackout still lasts")
                    check(all(late[k]["forwarded"] == mid[k]["forwarded"] for k in mid),
                          "nothing is forwarded during the blackout")
                    check(sum(late[k]["source_end"] - before[k]["source_end"] for k in before)
                          > 0, "records kept arriving at the gateway")
                    proxy.wait_link_up(secs + 5)
                    end = time.monotonic()
                    wait_for(lambda: sum(r["forwarded"] for r in partitions_of(
                        mirror_status(args.ferry, gateway.data_dir)).values()) >
                        sum(r["forwarded"] for r in late.values()), 30,
                        "forwarding resumes after the blackout")
                    print(f"  forwarding resumed {time.monotonic() - end:.1f}s after the "
                          "blackout ended", flush=True)
                prod.stop()
                acked = prod.acked
                seq0 = 1 + max(max(s) for s in acked.values() if s)
                secs, _ = wait_forwarded(args.ferry, gateway, topics, 60)

                step(f"days offline: the target refuses connections while a backlog of "
                     f"{backlog_bytes >> 20} MB from three days ago accumulates")
                proxy.outage(3600)
                bytes_before = log_bytes(gateway.data_dir, topics)
                fwd_before = partitions_of(mirror_status(args.ferry, gateway.data_dir))
                t0 = time.monotonic()
                more, per_part = produce_backlog(gateway.bootstrap, topics, backlog_bytes, 1000,
                                                 3 * DAY_MS, seq0)
                print(f"  backlog produced in {time.monotonic() - t0:.1f}s", flush=True)
                for k, v in more.items():
                    acked[k] |= v
                # A couple of reconnect attempts, all refused.
                wait_for(lambda: proxy.counts()["refused_down"] >= 3, 30,
                         "the mirror trying to reconnect")
                # The status file is rewritten once a second: wait until it shows the backlog.
                off = wait_for(lambda: (lambda st: st if all(
                    r["records_behind"] >= per_part for r in partitions_of(st).values())
                    else None)(mirror_status(args.ferry, gateway.data_dir)), 10,
                    "the status showing the backlog")
                rows = partitions_of(off)
                check(all(rows[k]["forwarded"] == fwd_before[k]["forwarded"] for k in rows),
                      "nothing forwarded while the target is unreachable")
                check(all(r["records_behind"] == per_part for r in rows.values()),
                      f"each partition {per_part} records behind "
                      f"({[r['records_behind'] for r in rows.values()]})")
                check(all(r["seconds_behind"] >= 3 * 86400 - 60 for r in rows.values()),
                      "seconds behind shows three days")
                link = off["mirrors"][0]
                check(link["link_state"] != "connected",
                      f"the link is not connected ({link['link_state']}, {link['last_error']})")
                backlog = log_bytes(gateway.data_dir, topics) - bytes_before
                step("reconnect: drain the backlog")
                proxy.end_link_fault()
                drain_s, _ = wait_forwarded(args.ferry, gateway, topics, 300)
                mirror_status_cached[0] = mirror_status(args.ferry, gateway.data_dir)
                rate = backlog / drain_s / (1 << 20)
                print(f"  drained {backlog / (1 << 20):.1f} MiB of stored batches in "
                      f"{drain_s:.1f}s: {rate:.1f} MiB/s", flush=True)
                records = compare(gateway, central, topics, "site.", acked)
                counts = proxy.counts()
                print(f"  fault proxy: {counts}", flush=True)
                check(counts["held"] > 0, "connections were held during the blackout")
        finally:
            proxy.stop()
    print(f"  FIGURES blackout: blackouts {blackouts} (seconds, frozen), backlog "
          f"{backlog / (1 << 20):.1f} MiB ({per_part} records per partition, 3 partitions) "
          f"drained in {drain_s:.1f}s = {rate:.1f} MiB/s; {records} records exactly once; total "
          f"{time.monotonic() - start:.1f}s", flush=True)


# ---- TLS + SASL to the target ----------------------------------------------------------------

def scenario_sasl(args):
    topics = {"s.lz4": (2, "lz4"), "s.plain": (1, "none")}
    work = tempfile.mkdtemp(prefix="ferry-mirror-sasl-")
    certs = os.path.join(work, "certs")
    subprocess.run(["sh", MAKE_CERTS, certs], check=True, capture_output=True, timeout=60)
    ca = os.path.join(certs, "ca.pem")
    pw = os.path.join(work, "mirror.pw")
    with open(pw, "w") as f:
        f.write("mirror-secret\n")
    central_data = os.path.join(work, "central")
    run([args.ferry, "users", "add", "--data-dir", central_data, "--user", "mirror",
         "--mechanism", "SCRAM-SHA-256", "--password-file", pw])
    sasl_port = free_port()
    central_conf = f"""[broker]
listeners = ["SASL_SSL://127.0.0.1:{sasl_port}"]
advertised.listeners = ["SASL_SSL://localhost:{sasl_port}"]
ssl.certificate.location = "{os.path.join(certs, 'server.pem')}"
ssl.key.location = "{os.path.join(certs, 'server.key')}"
sasl.enabled.mechanisms = ["SCRAM-SHA-256"]
sasl.failed.authentication.limit = 100000
"""
    tls = f"""security.protocol = "SASL_SSL"
sasl.mechanism = "SCRAM-SHA-256"
sasl.username = "mirror"
ssl.ca.location = "{ca}"
"""
    gw_conf = (mirror_config("central", f"localhost:{sasl_port}", "s\\\\..*", "site.{topic}",
                             tls + f'sasl.password.file = "{pw}"\n') +
               mirror_config("wrongpw", f"localhost:{sasl_port}", "s\\\\..*", "bad.{topic}",
                             tls + 'sasl.password = "not-the-password"\n'))
    client_conf = {"security.protocol": "SASL_SSL", "ssl.ca.location": ca,
                   "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": "mirror",
                   "sasl.password": "mirror-secret"}
    start = time.monotonic()
    central = Ferry(args.ferry, port=sasl_port, data_dir=central_data, config_text=central_conf,
                    listen_flag=False)
    with central:
        central.host = "localhost"
        gateway = Ferry(args.ferry, config_text=gw_conf)
        with gateway:
            for t, (n, _) in topics.items():
                admin_create_topic(gateway.bootstrap, t, n)
            prod = Producers(gateway.bootstrap, topics, per_second=300).start()
            step("forwarding over SASL_SSL; a SIGKILL of the gateway on the way")
            wait_for(lambda: sum(r["forwarded"] for k, r in partitions_of(
                {"mirrors": [m for m in (mirror_status(args.ferry, gateway.data_dir) or
                                         {}).get("mirrors", []) if m["name"] == "central"]}
            ).items()) > 200, 30, "forwarding over SASL_SSL under way")
            gateway.restart(hard=True)
            time.sleep(1.0)
            prod.stop()
            secs, _ = wait_forwarded(args.ferry, gateway, topics, 60)
            st = mirror_status(args.ferry, gateway.data_dir)
            mirror_status_cached[0] = {"mirrors": [m for m in st["mirrors"]
                                                   if m["name"] == "central"]}
            by_name = {m["name"]: m for m in st["mirrors"]}
            check_eq(by_name["central"]["link_state"], "connected", "the SASL_SSL link")

            step("the mirror with the wrong password: authentication error, nothing forwarded")
            bad = by_name["wrongpw"]
            print(f"  wrongpw: {bad['link_state']} / {bad['last_error']}", flush=True)
            check(bad["link_state"] != "connected", f"its link is not connected "
                                                    f"({bad['link_state']})")
            err = bad["last_error"] or ""
            check("SASL_AUTHENTICATION_FAILED" in err or "authentication" in err.lower(),
                  f"its last error names the failed authentication: {err!r}")
            check(all(p["forwarded"] == 0 for p in bad["partitions"]),
                  "it forwarded nothing")

            step("compare over SASL_SSL")
            records = compare_sasl(gateway, central, topics, client_conf, prod.acked)
            from confluent_kafka.admin import AdminClient
            names = AdminClient({"bootstrap.servers": central.bootstrap, **client_conf}) \
                .list_topics(timeout=10).topics
            check(not any(n.startswith("bad.") for n in names),
                  f"no bad.* topic on the target ({sorted(names)})")
    print(f"  FIGURES sasl: {records} records exactly once over SASL_SSL (SCRAM-SHA-256) "
          f"across one gateway SIGKILL; total {time.monotonic() - start:.1f}s", flush=True)


def compare_sasl(gateway, central, topics, client_conf, acked):
    records = 0
    rows = partitions_of(mirror_status_cached[0])
    for topic, (parts, codec) in topics.items():
        ends = {p: rows[(topic, p)]["source_end"] for p in range(parts)}
        src_meta, dst_meta = {}, {}
        src = consume_assigned(gateway.bootstrap, topic, parts, ends, timeout_s=60, meta=src_meta)
        dst = consume_assigned(central.bootstrap, "site." + topic, parts, ends, timeout_s=60,
                               meta=dst_meta, extra=client_conf)
        for p in range(parts):
            s = [(k, v, src_meta[(p, o)]) for o, k, v in src[p]]
            d = [(k, v, dst_meta[(p, o)]) for o, k, v in dst[p]]
            check_eq(len(d), len(s), f"site.{topic}[{p}]: {len(s)} records on the target")
            check(d == s, f"site.{topic}[{p}]: keys, values, headers, timestamps equal, in order")
            seqs = {int(v.split(b":")[2]) for _, v, _ in d}
            check(acked[(topic, p)] <= seqs, f"site.{topic}[{p}]: every acknowledged record")
            sb = read_batches(gateway.data_dir, topic, p)
            db = read_batches(central.data_dir, "site." + topic, p)
            check(len(sb) == len(db) and all(masked(x) == masked(y) for x, y in zip(sb, db)),
                  f"site.{topic}[{p}]: batches equal apart from the rewritten fields")
            if codec == "lz4":
                check(any(b[22] & 7 == 3 for b in db), f"site.{topic}[{p}]: LZ4 batches kept")
            records += len(d)
    return records


def main():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    p.add_argument("--scenario", required=True, choices=["flap", "blackout", "sasl"])
    p.add_argument("--long", action="store_true",
                   default=os.environ.get("FERRY_MIRROR_LONG") == "1",
                   help="the long variant (also FERRY_MIRROR_LONG=1)")
    p.add_argument("--seed", type=int, default=int(os.environ.get("FERRY_MIRROR_SEED", "14")))
    args = p.parse_args()
    start = time.monotonic()
    name = f"mirror {args.scenario}{' (long)' if args.long else ''}"
    try:
        {"flap": scenario_flap, "blackout": scenario_blackout, "sasl": scenario_sasl}[
            args.scenario](args)
    except CheckFailed as e:
        print(f"FAIL {name}: {e}", flush=True)
        sys.exit(1)
    print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
