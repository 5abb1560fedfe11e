#!/usr/bin/python3
# Consumer groups with confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against ferry. Members
# are groups_consumer.py processes (subscribe, range assignor, enable.auto.commit=false, a
# synchronous commit after each processed batch, session.timeout.ms=6000, heartbeats every 1 s):
#  1. groups_scenarios.failover on a 6-partition topic, 3000 records first; list_groups shows
#     the group Stable with its three members, then Empty once they closed; committed() of the
#     group equals the end offsets.
#  2. simple commits (assign(), no membership) come back from committed().
#  3. committed offsets survive a broker restart: a new member continues at them.
#  4. static membership (group.instance.id): a member closed and started again within the
#     session timeout gets its previous partitions back, and the other member sees no rebalance;
#     a third process with the same instance id fences it (FENCED_INSTANCE_ID) and takes over
#     its partitions; closed for good, a static member leaves only when its session times out.
import time

import groups_scenarios as scenarios
import harness
from harness import check, check_eq, step, wait_for, CheckFailed
from groups_consumer import Member
from groups_scenarios import SESSION_MS, check_once, consumed, wait_consumed, wait_stable

TIMEOUT = 15


def admin(b):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": b})


def records(tag, n, keys, start=0):
    return [{"key": f"k{i % keys}".encode(), "value": f"{tag}-{i:05d}".encode()}
            for i in range(start, start + n)]


def produced_set(acked):
    """{(partition, offset, value)} from produce_confluent's result."""
    return {(p, o, v.decode()) for p, recs in acked.items() for o, _k, v in recs}


def end_offsets(b, topic, partitions):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b, "group.id": "ferry-compat-watermarks"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)[1]
                for p in range(partitions)}
    finally:
        c.close()


def group_committed(b, group, topic, partitions):
    """OffsetFetch through Consumer.committed() of a consumer that does not join the group."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False})
    try:
        try:
            tps = c.committed([TopicPartition(topic, p) for p in range(partitions)],
                              timeout=TIMEOUT)
        except Exception as e:
            raise CheckFailed(f"committed() for group {group}: {e}")
        for tp in tps:
            if tp.error:
                raise CheckFailed(f"committed() for group {group} {topic}[{tp.partition}]: "
                                  f"{tp.error}")
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def coordinator_ready(b, group):
    """Fails clearly when the broker has no group coordinator (FindCoordinator error 15)."""
    from confluent_kafka import Consumer, TopicPartition, KafkaException
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False})
    try:
        c.committed([TopicPartition("ferry-compat-probe", 0)], timeout=10)
    except KafkaException as e:
        raise CheckFailed(f"the broker has no working group coordinator (OffsetFetch through "
                          f"FindCoordinator failed: {e})")
    finally:
        c.close()
    check(True, "FindCoordinator + OffsetFetch answered (the group coordinator is there)")


class Confluent(scenarios.Client):
    name = "confluent-kafka"
    # librdkafka may deliver a fetched batch of a partition it is about to lose.
    strict_assignment = False

    def __init__(self, ferry):
        self.ferry = ferry

    def member(self, name, topic, group):
        return Member(name, self.ferry.workdir, self.ferry.bootstrap, topic, group,
                      session_timeout_ms=SESSION_MS)

    def produce(self, topic, tag, start, n, keys=60):
        return produced_set(harness.produce_confluent(self.ferry.bootstrap, topic,
                                                      records(tag, n, keys, start)))

    def committed(self, members, group, topic, parts):
        return {p: o for p, o in group_committed(self.ferry.bootstrap, group, topic,
                                                 parts).items() if o >= 0}

    def after_first_round(self, members, group):
        step("AdminClient.list_groups shows the group, Stable, with three members")
        b = self.ferry.bootstrap
        groups = admin(b).list_groups(group, timeout=TIMEOUT)
        check_eq([g.id for g in groups], [group], "list_groups(group) returns the group")
        g = groups[0]
        check(g.error is None or g.error.code() == 0, f"group described without error ({g.error})")
        check_eq(g.state, "Stable", "group state")
        check_eq(g.protocol_type, "consumer", "protocol type")
        check_eq(g.protocol, "range", "protocol (assignor) chosen")
        check_eq(len(g.members), 3, "three members listed")
        all_groups = admin(b).list_groups(timeout=TIMEOUT)
        check(group in [x.id for x in all_groups], "list_groups() (all groups) includes it")

    def after_close(self, group, topic, parts, ends):
        b = self.ferry.bootstrap
        check_eq(end_offsets(b, topic, parts), ends, "end offsets == records produced")
        check_eq(group_committed(b, group, topic, parts), ends,
                 "committed offsets after close == end offsets")
        groups = admin(b).list_groups(group, timeout=TIMEOUT)
        check_eq([(x.id, x.state, len(x.members)) for x in groups], [(group, "Empty", 0)],
                 "list_groups: group Empty with no members")


def shared_group(ferry, members_out):
    topic = "grp-six"
    harness.admin_create_topic(ferry.bootstrap, topic, 6)
    scenarios.failover(Confluent(ferry), topic, "grp-shared", 3000, members_out)


def stop_members(members):
    for m in members:
        rc = m.stop()
        check_eq(rc, 0, f"member {m.name} closed its consumer and exited 0")


def simple_commits(ferry):
    from confluent_kafka import Consumer, TopicPartition
    b = ferry.bootstrap
    topic, group = "grp-simple", "grp-simple-commit"
    step("commit() without membership (assign only) and committed()")
    harness.admin_create_topic(b, topic, 3)
    harness.produce_confluent(b, topic, records("s", 90, 9))
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(3)])
        want = {0: 5, 1: 17, 2: 0}
        try:
            res = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in want.items()],
                           asynchronous=False)
        except Exception as e:
            raise CheckFailed(f"commit() of {want} failed: {e}")
        check(all(tp.error is None for tp in res), f"commit() of {want}: no partition error")
        got = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=TIMEOUT)
        check_eq({tp.partition: tp.offset for tp in got}, want, "committed() returns them")
    finally:
        c.close()
    check_eq(group_committed(b, group, topic, 3), {0: 5, 1: 17, 2: 0},
             "another consumer of the group fetches the same offsets")


def restart_resume(ferry, members_out):
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    b = ferry.bootstrap
    topic, group, parts, n = "grp-resume", "grp-resume", 4, 1000
    step("consume about half with commits, then close")
    harness.admin_create_topic(b, topic, parts)
    acked = harness.produce_confluent(b, topic, records("r", n, 40))
    want = produced_set(acked)
    conf = {"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 100,
            "max.partition.fetch.bytes": 2048}

    def consume(c, stop_at, deadline_s):
        got = []
        deadline = time.monotonic() + deadline_s
        while len(got) < stop_at and time.monotonic() < deadline:
            msgs = c.consume(num_messages=50, timeout=0.2)
            nxt = {}
            for m in msgs:
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        raise CheckFailed(f"consumer error: {m.error()}")
                    continue
                got.append((m.partition(), m.offset(), m.value().decode()))
                nxt[m.partition()] = m.offset() + 1
            if nxt:
                try:
                    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in nxt.items()],
                             asynchronous=False)
                except KafkaException as e:
                    raise CheckFailed(f"commit of {nxt} failed: {e}")
        return got

    c = Consumer(conf)
    c.subscribe([topic])
    try:
        half = consume(c, n // 2, 30)
    finally:
        c.close()
    check(len(half) >= n // 2, f"first consumer read {len(half)} records (>= {n // 2})")
    check(len(half) < n, f"... and not all {n} (max.partition.fetch.bytes keeps batches small)")
    committed = group_committed(b, group, topic, parts)
    last = {}
    for p, o, _v in half:
        last[p] = max(last.get(p, -1), o + 1)
    check_eq({p: o for p, o in committed.items() if o >= 0}, last,
             "committed offsets == next offset after what was read")

    step("restart ferry (SIGTERM, same data directory)")
    ferry.restart(hard=False)
    check_eq(group_committed(b, group, topic, parts), committed,
             "committed offsets survived the restart")

    step("a new member of the group continues at the committed offsets")
    c = Consumer(conf)
    c.subscribe([topic])
    try:
        rest = consume(c, n - len(half), 30)
    finally:
        c.close()
    firsts = {}
    for p, o, _v in rest:
        firsts.setdefault(p, o)
    ends = {p: len(recs) for p, recs in acked.items()}
    # A partition the first consumer never read has no committed offset: it starts at 0.
    starts = {p: (committed.get(p, -1) if committed.get(p, -1) >= 0 else 0) for p in ends}
    check_eq(firsts, {p: o for p, o in starts.items() if o < ends[p]},
             "first offset read per partition == committed offset")
    check_once(half + rest, want, "before and after the restart")


def static_members(ferry, members_out):
    b = ferry.bootstrap
    topic, group, parts = "grp-static", "grp-static", 4
    session = 10000
    step("two static members (group.instance.id) share a 4-partition topic")
    harness.admin_create_topic(b, topic, parts)
    s1 = Member("s1", ferry.workdir, b, topic, group, instance_id="inst-1",
                session_timeout_ms=session)
    members_out.append(s1)
    wait_stable([s1], parts, 4, 30, "s1 alone has all four partitions")
    s2 = Member("s2", ferry.workdir, b, topic, group, instance_id="inst-2",
                session_timeout_ms=session)
    members_out.append(s2)
    wait_stable([s1, s2], parts, 2, 30, "s1 and s2 have two partitions each")
    acked = harness.produce_confluent(b, topic, records("st1", 200, 20))
    wait_consumed([s1, s2], produced_set(acked), 30, "200 records consumed")
    s1_assigns = len(s1.events("assign"))
    s1_revokes = len(s1.events("revoke"))
    s2_parts = s2.assignment()

    step("s2 closes (a static member sends no LeaveGroup) and starts again at once")
    check_eq(s2.stop(), 0, "s2 closed and exited 0")
    s2_before = len(s2.events("assign"))
    s2.start()

    def s2_back():
        return len(s2.events("assign")) > s2_before and s2.assignment()
    wait_for(s2_back, session / 1000, "s2 assigned again within the session timeout",
             interval_s=0.1)
    check_eq(s2.assignment(), s2_parts, "s2 got its previous partitions back")
    acked2 = harness.produce_confluent(b, topic, records("st2", 200, 20, 200))
    wait_consumed([s1, s2], produced_set(acked2), 30, "200 more records consumed")
    time.sleep(2)  # two more heartbeats: a rebalance would have reached s1 by now
    check_eq((len(s1.events("assign")), len(s1.events("revoke"))), (s1_assigns, s1_revokes),
             "s1 saw no rebalance (no new assign or revoke)")
    got = [r for r in consumed([s1, s2])]
    check_once(got, produced_set(acked) | produced_set(acked2), "static members")

    step("s3 starts with s2's instance id: s2 is fenced, s3 takes its partitions")
    s3 = Member("s3", ferry.workdir, b, topic, group, instance_id="inst-2",
                session_timeout_ms=session)
    members_out.append(s3)
    wait_for(lambda: s3.assignment() == s2_parts, 20, "s3 assigned s2's partitions",
             interval_s=0.1)
    check(True, f"s3 has s2's partitions {s2_parts}")
    wait_for(lambda: any("fenced" in e.lower() for e in s2.events("error")), 10,
             "s2 to report FENCED_INSTANCE_ID", interval_s=0.1)
    check(True, "s2 got a fatal FENCED_INSTANCE_ID error: " + s2.events("error")[-1][:120])
    s2.stop()
    acked3 = harness.produce_confluent(b, topic, records("st3", 200, 20, 400))
    third = produced_set(acked3)
    wait_consumed([s1, s3], third, 30, "200 records consumed by s1 and s3")
    got3 = [r for r in consumed([s1, s3]) if r[2].startswith("st3-")]
    check_eq(len(got3), len(third), "records after the fencing consumed once")
    check_eq((len(s1.events("assign")), len(s1.events("revoke"))), (s1_assigns, s1_revokes),
             "s1 still saw no rebalance")

    step("s3 closes for good: removed when its session times out, s1 gets all partitions")
    check_eq(s3.stop(), 0, "s3 closed and exited 0")
    t0 = time.monotonic()
    wait_for(lambda: s1.assignment() == list(range(parts)), session / 1000 + 12,
             "s1 assigned all four partitions", interval_s=0.1)
    took = time.monotonic() - t0
    check(took >= session / 1000 - 3,
          f"... only after about the session timeout ({took:.1f}s; a LeaveGroup or an early "
          f"expiry would be quicker)")
    stop_members([s1])


def body(args):
    members = []
    with harness.group_ferry(args.ferry) as ferry:
        try:
            step("setup: is there a group coordinator?")
            coordinator_ready(ferry.bootstrap, "grp-probe")
            shared_group(ferry, members)
            simple_commits(ferry)
            restart_resume(ferry, members)
            static_members(ferry, members)
        except BaseException:
            for m in members:
                m.dump()
            raise
        finally:
            for m in members:
                if m.alive():
                    m.kill9()


if __name__ == "__main__":
    harness.main("consumer groups with confluent-kafka against ferry", body)
