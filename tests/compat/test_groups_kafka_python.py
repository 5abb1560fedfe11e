#!/usr/bin/python3
# Consumer groups with kafka-python 2.0.2 against ferry: two KafkaConsumer members of one group
# (each in its own thread, enable_auto_commit=False, commit() after each poll,
# session_timeout_ms=6000, heartbeats every second) share a 4-partition topic two partitions
# each, and consume 800 records produced by KafkaProducer exactly once between them.
# KafkaAdminClient: describe_consumer_groups shows the group Stable with both members and their
# assignments, list_consumer_groups lists it; after both close (LeaveGroup) the group is Empty and
# list_consumer_group_offsets returns the committed offsets, equal to the end offsets;
# delete_consumer_groups removes it.
#
# Then failover with member processes (groups_consumer_kafka_python.py: KafkaConsumer,
# enable_auto_commit=False, a synchronous commit after each processed poll batch): three members
# share a 6-partition topic two partitions each and consume 1800 records exactly once; one is
# killed with SIGKILL and 600 more records are produced: its partitions move to the two
# survivors within the session timeout plus a margin, they continue at its committed offsets,
# and every new record is consumed (repeats only at or after the dead member's last commit); a
# fourth member joins, gets two partitions and consumes part of the 300 records produced next,
# each exactly once. Records are produced only once every member has its final assignment.
import threading
import time

import harness
from harness import check, check_eq, step, wait_for, CheckFailed
from groups_consumer_kafka_python import KpMember

TOPIC = "kp-grp"
GROUP = "kp-group"
PARTS = 4
N = 800
TIMEOUT_MS = 15000
SESSION_MS = 6000
# A dead member's partitions move after the session timeout, one heartbeat for the survivors to
# hear of the rebalance, their JoinGroup and SyncGroup, plus slack for slow machines.
MOVE_S = SESSION_MS / 1000 + 12


class Member(threading.Thread):
    def __init__(self, name, bootstrap):
        super().__init__(name=f"member-{name}", daemon=True)
        self.member = name
        self.bootstrap = bootstrap
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.records = []          # (partition, offset, value)
        self.assigned = []         # current assignment, sorted partitions
        self.commit_failures = []
        self.error = None
        self.closed = False

    def run(self):
        from kafka import KafkaConsumer
        from kafka.errors import CommitFailedError
        try:
            c = KafkaConsumer(TOPIC, bootstrap_servers=self.bootstrap, group_id=GROUP,
                              client_id=f"ferry-compat-kp-{self.member}",
                              auto_offset_reset="earliest", enable_auto_commit=False,
                              session_timeout_ms=6000, heartbeat_interval_ms=1000,
                              fetch_max_wait_ms=100)
            try:
                while not self.stop_event.is_set():
                    batch = c.poll(timeout_ms=200)
                    with self.lock:
                        for tp, recs in batch.items():
                            for r in recs:
                                self.records.append((tp.partition, r.offset, r.value.decode()))
                        self.assigned = sorted(tp.partition for tp in c.assignment())
                    if batch:
                        try:
                            c.commit()
                        except CommitFailedError as e:
                            self.commit_failures.append(str(e))
            finally:
                c.close()
                self.closed = True
        except Exception as e:  # reported by the main thread
            self.error = f"{type(e).__name__}: {e}"

    def snapshot(self):
        with self.lock:
            return list(self.records), list(self.assigned)


# ---- failover with member processes -----------------------------------------------------------

def produce(b, topic, tag, start, n, keys=60):
    """KafkaProducer (acks=all) sends `n` keyed records; returns {(partition, offset, value)}."""
    from kafka import KafkaProducer
    prod = KafkaProducer(bootstrap_servers=b, acks="all", linger_ms=5)
    try:
        values = [f"{tag}-{i:05d}" for i in range(start, start + n)]
        futures = [prod.send(topic, key=f"k{i % keys}".encode(), value=v.encode())
                   for i, v in zip(range(start, start + n), values)]
        prod.flush(timeout=30)
        acked = set()
        for v, f in zip(values, futures):
            md = f.get(timeout=30)
            acked.add((md.partition, md.offset, v))
    finally:
        prod.close(timeout=10)
    check_eq(len(acked), n, f"{n} {tag} records acknowledged")
    return acked


def wait_stable(members, per_member, timeout_s, what, parts=6):
    """Waits until the members' current assignments have `per_member` partitions each and
    together cover 0..parts-1 once; returns the seconds it took."""
    def ok():
        for m in members:
            if not m.alive():
                raise CheckFailed(f"member {m.name} exited (status {m.proc.returncode})")
        asg = [m.assignment() for m in members]
        return (sorted(p for a in asg for p in a) == list(range(parts))
                and all(len(a) == per_member for a in asg))
    t0 = time.monotonic()
    wait_for(ok, timeout_s, what, interval_s=0.1)
    took = time.monotonic() - t0
    check(True, f"{what}: " + ", ".join(f"{m.name}={m.assignment()}" for m in members) +
          f" ({took:.1f}s)")
    return took


def consumed(members):
    return [r for m in members for r in m.records()]


def wait_consumed(members, want, timeout_s, what):
    try:
        wait_for(lambda: want <= set(consumed(members)), timeout_s, what, interval_s=0.1)
    except CheckFailed:
        missing = sorted(want - set(consumed(members)))
        raise CheckFailed(f"{what}: {len(missing)} of {len(want)} records not consumed within "
                          f"{timeout_s}s, first: {missing[:5]}")


def group_offsets(admin, group, topic):
    offs = admin.list_consumer_group_offsets(group)
    return {tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}


def end_offsets(b, topic, parts):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=b, group_id=None)
    try:
        ends = c.end_offsets([TopicPartition(topic, p) for p in range(parts)])
    finally:
        c.close()
    return {tp.partition: o for tp, o in ends.items()}


def failover(ferry, admin, procs):
    from kafka.admin import NewTopic
    b = ferry.bootstrap
    topic, group, parts = "kp-six", "kp-failover", 6
    admin.create_topics([NewTopic(topic, num_partitions=parts, replication_factor=1)],
                        timeout_ms=TIMEOUT_MS)
    check(True, f"created {topic} with {parts} partitions")

    step("three member processes join; two of the six partitions each")
    ms = [KpMember(n, ferry.workdir, b, topic, group, session_timeout_ms=SESSION_MS)
          for n in ("a", "b", "c")]
    procs.extend(ms)
    wait_stable(ms, 2, 30, "three members share six partitions, two each")

    step("produce 1800 keyed records; consumed exactly once across the three")
    first = produce(b, topic, "first", 0, 1800)
    check_eq(sorted({p for p, _o, _v in first}), list(range(parts)), "records in all partitions")
    wait_consumed(ms, first, 30, "1800 records consumed by the group")
    got = consumed(ms)
    check_eq(len(got) - len(set(got)), 0, "no record consumed twice")
    check_eq(set(got), first, "consumed == produced")
    for m in ms:
        check({r[0] for r in m.records()} <= set(m.assignment()),
              f"member {m.name} consumed only its partitions {m.assignment()}")
    ends = end_offsets(b, topic, parts)
    wait_for(lambda: group_offsets(admin, group, topic) == ends, 10,
             "committed offsets == end offsets", interval_s=0.2)
    check(True, f"committed offsets == end offsets {ends}")

    step("kill -9 member c; produce 600 more; its partitions move to a and b")
    a, bm, c = ms
    dead_parts, dead_commit = c.assignment(), c.committed()
    c.kill9()
    t_kill = time.monotonic()
    second = produce(b, topic, "second", 1800, 600)
    wait_stable([a, bm], 3, MOVE_S, "a and b take over c's partitions")
    since = time.monotonic() - t_kill
    check(since <= MOVE_S, f"moved within session timeout + margin ({since:.1f}s <= {MOVE_S}s)")
    check(set(dead_parts) <= set(a.assignment()) | set(bm.assignment()),
          f"c's partitions {dead_parts} now belong to a or b")
    wait_consumed([a, bm], second, 30, "600 records produced after the kill consumed")
    got = [r for r in consumed([a, bm]) if r[2].startswith("second-")]
    check_eq(set(got), second, "every record produced after the kill consumed, nothing unknown")
    seen, dups = set(), []
    for r in got:
        if r in seen:
            dups.append(r)
        seen.add(r)
    bad = [r for r in dups if not (r[0] in dead_parts and r[1] >= dead_commit.get(r[0], 0))]
    check_eq(bad, [], f"repeats ({len(dups)}) only of c's partitions at or after its last commit")
    firsts = {}
    for p, o, _v in consumed([a, bm]):
        if p in dead_parts and o >= dead_commit.get(p, 0):
            firsts.setdefault(p, o)
    check_eq(firsts, {p: dead_commit.get(p, 0) for p in dead_parts},
             "the survivors continue c's partitions at c's last committed offsets")
    again = [r for r in consumed([a, bm]) if r in first]
    check_eq(len(again), len(set(again)), "no record from before the kill consumed twice by a/b")

    step("a fourth member d joins: a rebalance gives it two partitions")
    d = KpMember("d", ferry.workdir, b, topic, group, session_timeout_ms=SESSION_MS)
    procs.append(d)
    wait_stable([a, bm, d], 2, 30, "a, b and d share six partitions, two each")
    third = produce(b, topic, "third", 2400, 300)
    wait_consumed([a, bm, d], third, 30, "300 records produced after d joined consumed")
    got3 = [r for r in consumed([a, bm, d]) if r[2].startswith("third-")]
    check_eq(len(got3), len(set(got3)), "records after d joined consumed once")
    check({r[0] for r in d.records()} == set(d.assignment()),
          f"d consumed records of its partitions {d.assignment()} (and only those)")
    fails = [f"{m.name}: {e}" for m in (a, bm, d) for e in m.events("commitfail")]
    check_eq(fails, [], "no commit failed")

    step("members close (LeaveGroup); the group keeps its offsets")
    for m in (a, bm, d):
        check_eq(m.stop(), 0, f"member {m.name} closed its consumer and exited 0")
    check_eq(group_offsets(admin, group, topic), end_offsets(b, topic, parts),
             "committed offsets after close == end offsets")
    g = admin.describe_consumer_groups([group])[0]
    check_eq((g.state, len(g.members)), ("Empty", 0), "group Empty without members")


def body(args):
    from kafka import KafkaProducer, KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    with harness.group_ferry(args.ferry) as ferry:
        b = ferry.bootstrap
        step("setup: topic, and is there a group coordinator?")
        admin = KafkaAdminClient(bootstrap_servers=b, client_id="ferry-compat-kp-admin",
                                 request_timeout_ms=TIMEOUT_MS)
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTS, replication_factor=1)],
                            timeout_ms=TIMEOUT_MS)
        check(True, f"created {TOPIC} with {PARTS} partitions")
        try:
            admin.list_consumer_group_offsets("kp-probe")
        except Exception as e:
            raise CheckFailed(f"the broker has no working group coordinator "
                              f"(list_consumer_group_offsets: {type(e).__name__}: {e})")
        check(True, "FindCoordinator + OffsetFetch answered (the group coordinator is there)")

        members = [Member("a", b), Member("b", b)]
        try:
            step("two KafkaConsumer members join; two partitions each")
            for m in members:
                m.start()

            def stable():
                for m in members:
                    if m.error or not m.is_alive():
                        raise CheckFailed(f"member {m.member} failed: {m.error}")
                asg = [m.snapshot()[1] for m in members]
                return (sorted(p for a in asg for p in a) == list(range(PARTS))
                        and all(len(a) == 2 for a in asg))
            wait_for(stable, 30, "both members assigned two partitions each", interval_s=0.1)
            check(True, "assignments: " + ", ".join(f"{m.member}={m.snapshot()[1]}"
                                                    for m in members))

            step(f"KafkaProducer sends {N} keyed records")
            prod = KafkaProducer(bootstrap_servers=b, acks="all", linger_ms=5)
            futures = [prod.send(TOPIC, key=f"k{i % 40}".encode(),
                                 value=f"kp-{i:05d}".encode()) for i in range(N)]
            prod.flush(timeout=30)
            want = set()
            for i, f in enumerate(futures):
                md = f.get(timeout=30)
                want.add((md.partition, md.offset, f"kp-{i:05d}"))
            prod.close()
            check_eq(len(want), N, f"{N} records acknowledged")

            step("every record consumed exactly once across the two members")

            def all_consumed():
                return want <= {r for m in members for r in m.snapshot()[0]}
            try:
                wait_for(all_consumed, 30, "all records consumed", interval_s=0.1)
            except CheckFailed:
                got = {r for m in members for r in m.snapshot()[0]}
                raise CheckFailed(f"{len(want - got)} of {N} records not consumed within 30s")
            got = [r for m in members for r in m.snapshot()[0]]
            check_eq(len(got), len(set(got)), "no record consumed twice")
            check_eq(set(got), want, "consumed == produced")
            for m in members:
                recs, asg = m.snapshot()
                check({p for p, _o, _v in recs} <= set(asg),
                      f"member {m.member} consumed only its partitions {asg}")
            check_eq([f for m in members for f in m.commit_failures], [], "no commit failed")

            step("KafkaAdminClient.describe_consumer_groups / list_consumer_groups")
            g = admin.describe_consumer_groups([GROUP])[0]
            check_eq((g.error_code, g.group, g.state, g.protocol_type, g.protocol),
                     (0, GROUP, "Stable", "consumer", "range"),
                     "error, group, state, protocol type, protocol")
            check_eq(sorted(x.client_id for x in g.members),
                     ["ferry-compat-kp-a", "ferry-compat-kp-b"], "both members, by client id")
            asg = {}
            for x in g.members:
                check(x.member_assignment is not None, f"member {x.client_id} has an assignment")
                asg[x.client_id] = sorted(tp.partition for tp in x.member_assignment.partitions()
                                          if tp.topic == TOPIC)
            want_asg = {f"ferry-compat-kp-{m.member}": m.snapshot()[1] for m in members}
            check_eq(asg, want_asg, "described assignments == what each member was assigned")
            check(all(x.member_metadata is not None and TOPIC in x.member_metadata.subscription
                      for x in g.members), f"member metadata: subscribed to {TOPIC}")
            listed = admin.list_consumer_groups()
            check((GROUP, "consumer") in listed, f"list_consumer_groups has ({GROUP}, consumer)")

            step("members close (LeaveGroup)")
        finally:
            for m in members:
                m.stop_event.set()
            for m in members:
                m.join(timeout=20)
        for m in members:
            check(not m.is_alive() and m.closed and m.error is None,
                  f"member {m.member} closed ({m.error or 'no error'})")

        step("committed offsets == end offsets; the group is Empty")
        c = KafkaConsumer(bootstrap_servers=b, group_id=None)
        ends = c.end_offsets([TopicPartition(TOPIC, p) for p in range(PARTS)])
        c.close()
        offs = admin.list_consumer_group_offsets(GROUP)
        check_eq({tp.partition: om.offset for tp, om in offs.items() if tp.topic == TOPIC},
                 {tp.partition: o for tp, o in ends.items()},
                 "list_consumer_group_offsets == end offsets")
        g = admin.describe_consumer_groups([GROUP])[0]
        check_eq((g.state, len(g.members)), ("Empty", 0), "group Empty without members")

        step("delete_consumer_groups")
        res = admin.delete_consumer_groups([GROUP])
        check_eq([(gid, err.errno) for gid, err in res], [(GROUP, 0)],
                 "delete_consumer_groups: no error")
        check(GROUP not in [x[0] for x in admin.list_consumer_groups()],
              "the group is no longer listed")

        procs = []
        try:
            failover(ferry, admin, procs)
        except BaseException:
            for m in procs:
                m.dump()
            raise
        finally:
            for m in procs:
                if m.alive():
                    m.kill9()
        admin.close()


if __name__ == "__main__":
    harness.main("consumer groups with kafka-python against ferry", body)
