# Committed consumer-group offsets across controller failovers, on a real 3-node cluster.
#
# The controller coordinates every group and its offset commits are records of the metadata log
# (docs/replication.md), so no acknowledged commit may be lost when it dies. Steps:
#   1. 3 nodes, topic `offsets` (3 partitions, replication factor 3), 100 records per partition.
#   2. A confluent-kafka group member consumes half of every partition and commits
#      synchronously after every 10 records; the last acknowledged commit per partition is kept.
#   3. SIGKILL of the controller. A second member of the group asks the survivors for the
#      committed offsets (librdkafka finds the new coordinator, retrying while it catches up):
#      they must equal the acknowledged ones, and the first member must go on (it finds the new
#      coordinator by itself), consume the rest and commit the log end. The group's membership
#      is a record of the metadata log too, so the new coordinator knows the member, its
#      generation and assignment: it goes on WITHOUT a rebalance (its on_assign callback, counted,
#      fires once for the whole run).
#   4. The killed node restarts and catches up; then the second controller is killed and the
#      offsets are read again (from whichever node leads then, possibly the restarted one).
#   5. All nodes stopped: every node's meta.db holds the same final offsets (each applied the
#      metadata log), and the group's stored membership: empty (the member left), generation kept.
# Throughout, every node's Metadata must report one cluster id (the first controller's, agreed
# through the metadata log), the same before and after the failovers.
# Exit 0 pass, 1 fail, 77 cannot run here (no confluent-kafka, no cluster support).
#
#   /usr/bin/python3 tests/cluster/offsets_failover.py --ferry build/native/src/app/ferry [--keep]
import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster as cl  # noqa: E402

try:
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:
    print("confluent-kafka missing (use /usr/bin/python3): skipped")
    sys.exit(77)

TOPIC = "offsets"
GROUP = "offsets-group"
PARTITIONS = 3
PER_PARTITION = 100


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def controller_id(bootstrap):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return md.controller_id


def wait_controller(bootstrap, not_in=(), timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            c = controller_id(bootstrap)
            if c is not None and c >= 1 and c not in not_in:
                return c
        except KafkaException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no controller other than {list(not_in)} within {timeout_s}s")


def cluster_ids(nodes, timeout_s=15):
    """{node id: the cluster id its Metadata reports}, once they agree (or the last seen)."""
    deadline = time.monotonic() + timeout_s
    ids = {}
    while time.monotonic() < deadline:
        for n in nodes:
            try:
                md = AdminClient({"bootstrap.servers": n.kafka_address}).list_topics(timeout=5)
                ids[n.id] = md.cluster_id
            except KafkaException:
                ids[n.id] = None
        if len(set(ids.values())) == 1 and None not in ids.values():
            break
        time.sleep(0.3)
    return ids


def kill_controller(c, controller, which):
    """SIGKILL of `controller`; (the survivors' bootstrap, the controller they elect)."""
    say(f"SIGKILL of the {which} controller, node {controller}")
    c.node(controller).kill9()
    survivors = ",".join(n.kafka_address for n in c.nodes if n.id != controller)
    elected = wait_controller(survivors, not_in=(controller,))
    say(f"controller now: node {elected}")
    return survivors, elected


def consumer(bootstrap, name):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "client.id": name,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})


def committed(bootstrap, timeout_s=30):
    """{partition: committed offset} read by a consumer that does not join the group."""
    c = consumer(bootstrap, "reader")
    try:
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            try:
                tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
                                  timeout=10)
                return {tp.partition: tp.offset for tp in tps}
            except KafkaException as e:
                last = e
                time.sleep(0.5)
        raise RuntimeError(f"committed offsets not readable within {timeout_s}s: {last}")
    finally:
        c.close()


def consume(c, want, commits, deadline_s):
    """Consumes until `want` {partition: offset} is reached, committing every 10 records;
    records each acknowledged commit in `commits`. A record at or past `want` is not taken: the
    consumer seeks back to it, so the next call reads it (without a rebalance in between, the
    consumer's position, not the committed offset, is where it goes on)."""
    deadline = time.monotonic() + deadline_s
    position = {}
    since_commit = 0
    while time.monotonic() < deadline:
        reached = all(position.get(p, -1) >= want[p] for p in want)
        if reached and all(commits.get(p) == o for p, o in position.items()):
            break
        if not reached:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            if m.offset() >= want[m.partition()]:
                try:
                    c.seek(TopicPartition(TOPIC, m.partition(), m.offset()))
                except KafkaException as e:
                    say(f"seek back to {m.partition()}:{m.offset()} failed: {e}")
                continue
            position[m.partition()] = max(position.get(m.partition(), 0), m.offset() + 1)
            since_commit += 1
        # Every 10 records, and again at the end until a commit of the end is acknowledged.
        if since_commit >= 10 or all(position.get(p, -1) >= want[p] for p in want):
            offsets = [TopicPartition(TOPIC, p, o) for p, o in position.items()]
            try:
                done = c.commit(offsets=offsets, asynchronous=False)
                for tp in done:
                    if tp.error is None:
                        commits[tp.partition] = tp.offset
                since_commit = 0
            except KafkaException as e:
                say(f"commit failed (retried with the next records): {e}")
                time.sleep(0.2)
    return position


def meta_offsets(data_dir):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'meta.db')}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT partition, committed_offset FROM group_offsets "
                          "WHERE group_id = ? AND topic = ?", (GROUP, TOPIC)).fetchall()
    finally:
        db.close()
    return dict(rows)


def meta_group_state(data_dir):
    """(generation, member count) of the group's stored membership, or None (group_snapshot.h:
    version:i8 generation:i32 protocol_type protocol leader (i16-prefixed strings) count:i32)."""
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'meta.db')}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT state FROM group_state WHERE group_id = ?", (GROUP,)).fetchone()
    finally:
        db.close()
    if row is None:
        return None
    b = bytes(row[0])
    pos = 5
    for _ in range(3):
        pos += 2 + int.from_bytes(b[pos:pos + 2], "big", signed=True)
    return (int.from_bytes(b[1:5], "big", signed=True),
            int.from_bytes(b[pos:pos + 4], "big", signed=True))


def run(a, workdir):
    failures = []

    def check(cond, what):
        say(("ok: " if cond else "FAIL: ") + what)
        if not cond:
            failures.append(what)

    with cl.Cluster(a.ferry, 3, workdir, proxied=False) as c:
        c.start()
        boot = c.direct_bootstrap
        ids = cluster_ids(c.nodes)
        agreed = next(iter(ids.values()))
        check(len(set(ids.values())) == 1 and agreed, f"every node reports one cluster id: {ids}")
        admin = AdminClient({"bootstrap.servers": boot})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])[TOPIC].result(30)
        p = Producer({"bootstrap.servers": boot, "acks": "all", "enable.idempotence": True})
        for part in range(PARTITIONS):
            for i in range(PER_PARTITION):
                p.produce(TOPIC, value=f"{part}:{i}".encode(), partition=part)
        check(p.flush(30) == 0, f"{PARTITIONS * PER_PARTITION} records acknowledged")

        commits = {}
        member = consumer(boot, "member")
        assignments = []  # one entry per on_assign callback (a completed rebalance)
        member.subscribe([TOPIC], on_assign=lambda _c, parts: assignments.append(
            sorted(tp.partition for tp in parts)))
        half = {part: PER_PARTITION // 2 for part in range(PARTITIONS)}
        consume(member, half, commits, 60)
        check(commits == half, f"first half committed: {commits}")
        check(len(assignments) == 1, f"one assignment before the failover: {assignments}")

        first = wait_controller(boot)
        survivors, second = kill_controller(c, first, "first")
        got = committed(survivors)
        check(got == commits, f"offsets after the first failover {got} == acknowledged {commits}")

        end = {part: PER_PARTITION for part in range(PARTITIONS)}
        position = consume(member, end, commits, 60)
        check(position == end, f"the member went on through the failover to the log end: "
                               f"{position}")
        check(commits == end, f"log end committed through the new coordinator: {commits}")
        check(len(assignments) == 1,
              f"no rebalance through the failover (the new coordinator loaded the membership): "
              f"assignments {assignments}")
        member.close()

        c.node(first).start()
        say(f"node {first} restarted")
        time.sleep(2)  # it catches up with the metadata log
        rest, _third = kill_controller(c, second, "second")
        got = committed(rest)
        check(got == end, f"offsets after the second failover {got} == {end}")

        c.node(second).start()
        time.sleep(2)
        ids = cluster_ids(c.nodes)
        check(set(ids.values()) == {agreed}, f"the same cluster id after the failovers: {ids}")
        stopped = c.stop()
        check(all(rc == 0 for rc in stopped.values()), f"clean stops: {stopped}")
        for n in c.nodes:
            check(meta_offsets(n.data_dir) == end,
                  f"node {n.id}'s meta.db holds the final offsets: {meta_offsets(n.data_dir)}")
            state = meta_group_state(n.data_dir)
            check(state is not None and state[0] >= 1 and state[1] == 0,
                  f"node {n.id}'s meta.db holds the emptied group (generation, members): {state}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="ferry-offsets-")
    ok, why = cl.cluster_config_supported(a.ferry, workdir)
    if not ok:
        print(f"this ferry has no [cluster] support: skipped ({why})")
        shutil.rmtree(workdir, ignore_errors=True)
        return 77
    cl.install_exit_handlers()
    failures = ["exception"]
    try:
        failures = run(a, workdir)
    finally:
        if failures or a.keep:
            say(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say("PASS" if not failures else f"FAIL: {len(failures)} check(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
