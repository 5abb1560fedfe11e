#!/usr/bin/python3
# A node that lost its disk rejoins and copies everything back: 3 nodes (cluster.py), a topic of
# 3 partitions with replication factor 3 (each node leads one), records written with acks=all
# (confluent-kafka, idempotent), then the leader of partition 0 is killed with SIGKILL, its data
# directory deleted (cluster metadata, meta.db and partition logs alike), more records written
# while it is down, and it is started again, empty.
#
# Asserts:
#   - every record was acknowledged (acks=all, before and while the node was down);
#   - the wiped node is back in the ISR of every partition (Metadata through confluent-kafka's
#     AdminClient) within CATCH_UP_S of its start;
#   - after a clean stop of all three (SIGTERM, exit 0), its partition log files hold exactly the
#     same batches, byte for byte, as each other node's below the high watermark (logfiles.py),
#     and those batches hold every acknowledged record once;
#   - no process is left.
# --mutate-cut N (the mutation check): N batches are cut off the wiped node's partition 0 after
# the stop, before the comparison; the run then passes only if the comparison reports it.
#
# Exit 0 pass, 1 fail, 77 without confluent-kafka or [cluster] support.
#
#   wipe_rejoin.py --ferry build/native/src/app/ferry [--keep] [--mutate-cut N]
import argparse
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cluster as clusterlib  # noqa: E402
import logfiles  # noqa: E402

TOPIC = "wiped"
PARTITIONS = 3
BEFORE = 3000  # records written before the kill
WHILE_DOWN = 1500  # records written while the wiped node is down
CATCH_UP_S = 30.0


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Run:
    def __init__(self, a):
        self.a = a
        self.failures = []
        self.acked = {}  # value -> (partition, offset)

    def fail(self, msg):
        say(f"FAIL: {msg}")
        self.failures.append(msg)

    def produce(self, bs, start, n):
        from confluent_kafka import Producer
        failed = []
        p = Producer({"bootstrap.servers": bs, "acks": "all", "enable.idempotence": True,
                      "linger.ms": 5, "batch.num.messages": 50})

        def cb(err, msg):
            if err is None:
                self.acked[msg.value().decode()] = (msg.partition(), msg.offset())
            else:
                failed.append(str(err))

        for i in range(start, start + n):
            while True:
                try:
                    p.produce(TOPIC, value=f"r:{i}".encode(), partition=i % PARTITIONS,
                              on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(60)
        if left or failed:
            self.fail(f"records {start}..{start + n - 1}: {left} not delivered, "
                      f"{len(failed)} failed (first {failed[:3]})")
        say(f"records {start}..{start + n - 1} acknowledged (acks=all)")

    def metadata(self, admin):
        md = admin.list_topics(TOPIC, timeout=10)
        return {p: (m.leader, sorted(m.isrs)) for p, m in md.topics[TOPIC].partitions.items()}

    def wait_isr(self, admin, node_id, timeout_s):
        deadline = time.monotonic() + timeout_s
        t0 = time.monotonic()
        md = {}
        while time.monotonic() < deadline:
            try:
                md = self.metadata(admin)
            except Exception as e:  # a node answering while it starts
                md = {"error": str(e)}
            if len(md) == PARTITIONS and all(node_id in isr for _l, isr in md.values()):
                say(f"node {node_id} in every ISR {time.monotonic() - t0:.1f}s after its "
                    f"start: {md}")
                return True
            time.sleep(0.2)
        self.fail(f"node {node_id} not back in every ISR within {timeout_s}s: {md}")
        return False

    def compare(self, cl, victim, marks):
        """Each partition's batches below the high watermark, node by node."""
        for p in range(PARTITIONS):
            high = marks[p]
            per_node = {}
            for node in cl.nodes:
                d = logfiles.partition_dirs(node.data_dir).get((TOPIC, p))
                per_node[node.id] = ([b for b in logfiles.read_batches(d) if b.last_offset < high]
                                     if d else [])
            ref_id = next(n.id for n in cl.nodes if n.id != victim)
            ref = per_node[ref_id]
            for nid, batches in per_node.items():
                if [b.data for b in batches] != [b.data for b in ref]:
                    first = next((i for i, (x, y) in enumerate(zip(batches, ref))
                                  if x.data != y.data), min(len(batches), len(ref)))
                    self.fail(f"partition {p}: node {nid} holds {len(batches)} batches below the "
                              f"high watermark {high}, node {ref_id} {len(ref)}; first "
                              f"difference at batch {first}")
            values = {}
            for b in ref:
                try:
                    for o, _k, v in logfiles.records(b):
                        values.setdefault(v.decode() if v is not None else None, []).append(o)
                except (ValueError, ImportError) as e:
                    self.fail(f"partition {p}: batch {b} not decoded ({e})")
            want = {v: o for v, (pp, o) in self.acked.items() if pp == p}
            missing = [v for v in want if v not in values]
            twice = [v for v, os_ in values.items() if len(os_) > 1]
            moved = [v for v, o in want.items() if v in values and values[v] != [o]]
            if missing or twice or moved:
                self.fail(f"partition {p}: {len(missing)} acknowledged records missing, "
                          f"{len(twice)} twice, {len(moved)} elsewhere than acknowledged "
                          f"(first {(missing + twice + moved)[:3]})")
            say(f"partition {p}: {len(ref)} batches, {sum(len(x) for x in values.values())} "
                f"records below {high} compared on {sorted(per_node)}")

    def run(self):
        from confluent_kafka import Consumer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        a = self.a
        broker = ["auto.create.topics.enable = false", "log.dir.min.free.bytes = 0"]
        with clusterlib.Cluster(a.ferry, 3, a.workdir, proxied=False,
                                broker_extra=broker) as cl:
            cl.start()
            bs = cl.bootstrap
            admin = AdminClient({"bootstrap.servers": bs})
            admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)],
                                operation_timeout=30)[TOPIC].result(timeout=60)
            self.produce(bs, 0, BEFORE)
            md = self.metadata(admin)
            victim = md[0][0]
            say(f"metadata {md}; kill -9 node {victim} (leader of partition 0), wipe its data")
            node = cl.node(victim)
            node.kill9()
            node.wipe()
            if os.listdir(node.data_dir):
                self.fail("the data directory is not empty after the wipe")
            self.produce(",".join(n.kafka_address for n in cl.nodes if n.id != victim), BEFORE,
                         WHILE_DOWN)
            node.start()
            say(f"node {victim} started on an empty data directory")
            self.wait_isr(admin, victim, CATCH_UP_S)
            c = Consumer({"bootstrap.servers": bs, "group.id": "wipe-marks"})
            try:
                marks = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=20)[1]
                         for p in range(PARTITIONS)}
            finally:
                c.close()
            say(f"high watermarks {marks}")
            # No write since the kill: a replica the leader counts in sync holds everything below
            # the high watermark already, so the nodes are stopped at once (no time given to
            # catch up after the ISR said it had).
            for nid, rc in cl.stop().items():
                if rc != 0:
                    self.fail(f"node {nid} exited {rc} on SIGTERM")
            if a.mutate_cut:
                d = logfiles.partition_dirs(node.data_dir).get((TOPIC, 0))
                cut = logfiles.truncate_tail(d, batches=a.mutate_cut) if d else []
                say(f"MUTATION: cut {cut} off node {victim}'s partition 0")
            self.compare(cl, victim, marks)
        left = [n.id for n in cl.nodes if n.proc and n.proc.poll() is None]
        if left:
            self.fail(f"nodes still running: {left}")


def main(argv):
    ap = argparse.ArgumentParser(description="a wiped node rejoins and re-replicates")
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN"))
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--mutate-cut", type=int, default=0, metavar="BATCHES")
    a = ap.parse_args(argv)
    own, skip = clusterlib.prepare_run(ap, a, "ferry-wipe-", say)
    if skip is not None:
        return skip
    run = Run(a)
    started = time.monotonic()
    try:
        run.run()
    except Exception as e:
        run.fail(f"{type(e).__name__}: {e}")
    failed = bool(run.failures)
    if a.mutate_cut:
        caught = any("first difference" in f for f in run.failures)
        say(f"mutation {'caught' if caught else 'NOT caught'}: {run.failures}")
        failed = not caught
    if failed or a.keep:
        say(f"work directory kept: {a.workdir}")
    elif own:
        shutil.rmtree(a.workdir, ignore_errors=True)
    say(f"{'FAIL' if failed else 'PASS'} wipe_rejoin in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
