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
# Then groups_scenarios.failover with member processes (groups_consumer_kafka_python.py:
# KafkaConsumer, enable_auto_commit=False, a synchronous commit after each processed poll
# batch) on a 6-partition topic, 1800 records first; committed offsets read with
# KafkaAdminClient.list_consumer_group_offsets.
import threading

import groups_scenarios as scenarios
import harness
from harness import check, check_eq, step, wait_for, CheckFailed
from groups_consumer_kafka_python import KpMember

TOPIC = "kp-grp"
GROUP = "kp-group"
PARTS = 4
N = 800
TIMEOUT_MS = 15000


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


def group_offsets(admin, group, topic):
    offs = admin.list_consumer_group_offsets(group)
    return {tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}


class KafkaPython(scenarios.Client):
    name = "kafka-python"

    def __init__(self, ferry, admin):
        self.ferry, self.admin = ferry, admin

    def member(self, name, topic, group):
        return KpMember(name, self.ferry.workdir, self.ferry.bootstrap, topic, group,
                        session_timeout_ms=scenarios.SESSION_MS)

    def produce(self, topic, tag, start, n, keys=60):
        return produce(self.ferry.bootstrap, topic, tag, start, n, keys)

    def committed(self, members, group, topic, parts):
        return group_offsets(self.admin, group, topic)

    def after_close(self, group, topic, parts, ends):
        check_eq(group_offsets(self.admin, group, topic), ends,
                 "committed offsets after close == end offsets")
        g = self.admin.describe_consumer_groups([group])[0]
        check_eq((g.state, len(g.members)), ("Empty", 0), "group Empty without members")


def failover(ferry, admin, procs):
    from kafka.admin import NewTopic
    topic = "kp-six"
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)],
                        timeout_ms=TIMEOUT_MS)
    check(True, f"created {topic} with 6 partitions")
    scenarios.failover(KafkaPython(ferry, admin), topic, "kp-failover", 1800, procs)


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

        scenarios.run_with_members(failover, ferry, admin)
        admin.close()


if __name__ == "__main__":
    harness.main("consumer groups with kafka-python against ferry", body)
