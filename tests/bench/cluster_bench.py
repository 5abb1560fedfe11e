#!/usr/bin/env python3
"""Replication figures, measured in one run (docs/benchmarks.md, "Replication"):

1. acks=all produce to a 3-node cluster (replication factor 3) against a single node, the same
   confluent-kafka producer (idempotent, linger.ms 5) and record sizes (100 B, 1 KiB), runs
   interleaved; the best run of each side and their ratio (goal >= 0.6).
2. An idle cluster: CPU (share of one core) and RSS per node with 100 partitions of replication
   factor 3, over 30 s (goals: < 1 % of a core, < 16 MiB).
3. Failover: a producer writes to all 100 partitions; the leader of a third of them is SIGKILLed;
   per orphaned partition, the time from the kill to the first acknowledgement of a record sent
   after it; p50 and max over every round (goal < 3 s with default timeouts). The killed node
   restarts and takes its preferred leaderships back between rounds.

   Each round also prints where the time went, from the surviving nodes' logs (medians over
   the orphaned partitions, seconds after the kill): the links to the killed node seen down,
   the first pre-vote, the new leader, and the first acknowledgement.

Nodes run on 127.0.0.1 with free ports and temporary data directories, default [cluster]
timings, and are all stopped at the end. Needs /usr/bin/python3 with confluent-kafka.

  /usr/bin/python3 tests/bench/cluster_bench.py --ferry build/native/src/app/ferry [--rounds 3]
      [--only failover]
"""
import calendar
import re
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
import cluster as harness  # noqa: E402  (tests/cluster/cluster.py)

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

DEFAULT_TIMINGS = {"election.timeout.ms": 1000, "heartbeat.interval.ms": 200}


def create(bootstrap, topic, partitions, rf):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                  replication_factor=rf)])[topic].result(60)
    deadline = time.time() + 60
    while time.time() < deadline:  # every partition has a leader
        md = admin.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions
        if len(parts) == partitions and all(p.leader >= 0 for p in parts.values()):
            return admin
        time.sleep(0.2)
    raise SystemExit(f"{topic}: partitions without a leader after 60 s")


def produce_rate(bootstrap, topic, size, count):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5})
    value = b"x" * size
    acked = [0]

    def on_delivery(err, _msg):
        if err is None:
            acked[0] += 1

    start = time.time()
    for i in range(count):
        while True:
            try:
                p.produce(topic, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(120)
    return acked[0] / (time.time() - start)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def leaders(admin, topic):
    md = admin.list_topics(topic, timeout=10)
    return {p.id: p.leader for p in md.topics[topic].partitions.values()}


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z \S+\s+(\S+): (.*)$")


def log_events(node, since):
    """(time, module, message) of the node's log lines at or after `since` (epoch seconds)."""
    out = []
    with open(node.log_path, "rb") as f:
        for raw in f:
            m = LOG_LINE.match(raw.decode(errors="replace").rstrip("\n"))
            if not m:
                continue
            t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + \
                int(m.group(2)) / 1000
            if t >= since - 0.001:
                out.append((t, m.group(3), m.group(4)))
    return out


def timeline(c, victim, orphans, killed_at, first):
    """Medians, in seconds after the kill, of: a survivor seeing its link to the victim down, a
    survivor starting the first pre-vote of an orphaned partition, its new leader taking over,
    and the first acknowledgement on it."""
    link_down, pre_vote, leader = [], {}, {}
    for node in c.nodes:
        if node.id == victim:
            continue
        for t, module, msg in log_events(node, killed_at):
            if module == "cluster" and msg.startswith(f"link to node {victim} down"):
                link_down.append(t - killed_at)
            m = re.match(r"idle-(\d+): epoch \d+, (candidate|leader), ", msg)
            if module == "replication" and m and int(m.group(1)) in orphans:
                d = pre_vote if m.group(2) == "candidate" else leader
                d.setdefault(int(m.group(1)), t - killed_at)
                d[int(m.group(1))] = min(d[int(m.group(1))], t - killed_at)

    def med(xs):
        return f"{statistics.median(xs):.2f}" if xs else "-"

    acks = [first[o] - killed_at for o in orphans if o in first]
    gap = [first[o] - killed_at - leader[o] for o in orphans if o in first and o in leader]
    return (f"link down {med(link_down)}, first pre-vote {med(list(pre_vote.values()))} "
            f"(max {max(pre_vote.values(), default=0):.2f}), leader {med(list(leader.values()))} "
            f"(max {max(leader.values(), default=0):.2f}), acknowledged {med(acks)}; leader to "
            f"acknowledgement {med(gap)} (max {max(gap, default=0):.2f})")


def failover_round(c, admin, victim):
    orphans = [p for p, leader in leaders(admin, "idle").items() if leader == victim]
    producer = Producer({"bootstrap.servers": c.direct_bootstrap, "acks": "all",
                         "enable.idempotence": True, "linger.ms": 5})
    killed_at = [None]
    first = {}

    def on_delivery(err, msg):
        if err is not None or killed_at[0] is None:
            return
        if float(msg.value().decode()) >= killed_at[0] and msg.partition() not in first:
            first[msg.partition()] = time.time()

    end = time.time() + 12
    while time.time() < end:
        for part in range(100):
            producer.produce("idle", value=b"%f" % time.time(), partition=part,
                             on_delivery=on_delivery)
        producer.poll(0.02)
        if killed_at[0] is None and end - time.time() < 10:
            killed_at[0] = time.time()
            c.node(victim).kill9()
    producer.flush(60)
    times = [first[o] - killed_at[0] for o in orphans if o in first]
    where = timeline(c, victim, set(orphans), killed_at[0], first)
    c.node(victim).start()
    return orphans, times, where


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--rounds", type=int, default=3, help="failover rounds")
    ap.add_argument("--records", type=int, default=100000, help="1 KiB records per run")
    ap.add_argument("--only", choices=["failover"], help="run only this part")
    a = ap.parse_args(argv)
    harness.install_exit_handlers()
    with tempfile.TemporaryDirectory(prefix="ferry-cluster-bench-") as work, \
            harness.Cluster(a.ferry, 3, os.path.join(work, "c3"), proxied=False,
                            cluster_settings=DEFAULT_TIMINGS) as c3, \
            harness.Cluster(a.ferry, 1, os.path.join(work, "c1"), proxied=False) as c1:
        c3.start()
        c1.start()
        create(c1.direct_bootstrap, "bench", 3, 1)
        create(c3.direct_bootstrap, "bench", 3, 3)
        if a.only is None:
            print("1. acks=all produce, best of 2 interleaved runs each (records/s)", flush=True)
        for size, count in ((100, 2 * a.records), (1024, a.records)) if a.only is None else ():
            single, three = [], []
            for _ in range(2):
                single.append(produce_rate(c1.direct_bootstrap, "bench", size, count))
                three.append(produce_rate(c3.direct_bootstrap, "bench", size, count))
            print(f"   {size:5d} B: single node {max(single):9.0f}, 3 nodes {max(three):9.0f}, "
                  f"ratio {max(three) / max(single):.2f}  (runs: single "
                  f"{[round(x) for x in single]}, 3 nodes {[round(x) for x in three]})",
                  flush=True)
        admin = create(c3.direct_bootstrap, "idle", 100, 3)
        time.sleep(15)  # preferred leaders settle
        hz = os.sysconf("SC_CLK_TCK")
        pids = {n.id: n.proc.pid for n in c3.nodes}
        before = {i: cpu_ticks(p) for i, p in pids.items()}
        if a.only is None:
            time.sleep(30)
            print("2. idle, 100 partitions x replication factor 3 (+ the metadata group), 30 s:")
        for i, p in pids.items() if a.only is None else ():
            share = (cpu_ticks(p) - before[i]) / hz / 30 * 100
            print(f"   node {i}: CPU {share:.2f} % of a core, RSS {rss_kib(p) / 1024:.1f} MiB",
                  flush=True)
        print("3. failover (SIGKILL of the leader of about a third of the partitions):")
        every = []
        for r in range(a.rounds):
            victim = 1 + r % 3
            orphans, times, where = failover_round(c3, admin, victim)
            every += times
            print(f"   round {r}: node {victim} led {len(orphans)}; acknowledged again "
                  f"{len(times)}: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s",
                  flush=True)
            print(f"      {where}", flush=True)
            time.sleep(12)  # catch up; preferred leaders back
        print(f"   all {len(every)} partitions: p50 {statistics.median(every):.2f} s, "
              f"max {max(every):.2f} s")
        c1.stop()
        c3.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
