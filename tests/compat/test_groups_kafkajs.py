#!/usr/bin/python3
# Consumer groups with kafkajs 2.2.4 against ferry: runs kafkajs_groups.js (two consumers of one
# group share a 4-partition topic and consume everything exactly once; admin describeGroups,
# listGroups, fetchOffsets, resetOffsets, deleteGroups; see that file), on a broker started with
# group.initial.rebalance.delay.ms = 0. Needs `npm ci --prefix tests/compat` (tests/run-all.sh
# does it).
#
# Then failover with member processes (kafkajs_group_member.js: consumer.run with eachMessage,
# autoCommit false and consumer.commitOffsets after each message, RoundRobinAssigner,
# sessionTimeout 6000, heartbeats every second): three members get two of six partitions each
# and consume 1800 records exactly once; one is killed with SIGKILL and 600 more records are
# produced: the two survivors hold all six partitions within the session timeout plus a margin,
# continue at the dead member's committed offsets and consume every new record (repeats only at
# or after its last commit); a fourth member joins, gets partitions and consumes part of the 300
# records produced next, each exactly once. Records are produced only once every member has its
# final assignment. The records are produced with confluent-kafka (harness.produce_confluent).
import os
import shutil
import sys
import time

import harness
from harness import check, check_eq, run, step, wait_for, CheckFailed
from groups_consumer import Member

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION_MS = 6000
# A dead member's partitions move after the session timeout, one heartbeat for the survivors to
# hear of the rebalance, their JoinGroup and SyncGroup, plus slack for slow machines.
MOVE_S = SESSION_MS / 1000 + 12


class KjMember(Member):
    """A kafkajs_group_member.js process; parsing and stopping as groups_consumer.Member (kafkajs
    has no revoke event: the assignment is that of the latest GROUP_JOIN)."""

    def __init__(self, node, name, workdir, bootstrap, topic, group):
        self.name = name
        self.out = os.path.join(workdir, f"member-{name}.out")
        self.log = os.path.join(workdir, f"member-{name}.log")
        self.cmd = [node, os.path.join(HERE, "kafkajs_group_member.js"), bootstrap, topic, group,
                    self.out, str(SESSION_MS)]
        self.proc = None
        self.start()


def records(tag, start, n, keys=60):
    return [{"key": f"k{i % keys}".encode(), "value": f"{tag}-{i:05d}".encode()}
            for i in range(start, start + n)]


def produce(b, topic, tag, start, n):
    acked = harness.produce_confluent(b, topic, records(tag, start, n))
    return {(p, o, v.decode()) for p, recs in acked.items() for o, _k, v in recs}


def wait_stable(members, per_member, timeout_s, what, parts=6):
    """Waits until the members' latest assignments have `per_member` partitions each and
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


def ends_of(*sets):
    ends = {}
    for recs in sets:
        for p, o, _v in recs:
            ends[p] = max(ends.get(p, 0), o + 1)
    return dict(sorted(ends.items()))


def commits(members):
    out = {}
    for m in members:
        for p, o in m.committed().items():
            out[p] = max(out.get(p, 0), o)
    return out


def failover(node, ferry, procs):
    b = ferry.bootstrap
    topic, group, parts = "kj-six", "kj-failover", 6
    harness.admin_create_topic(b, topic, parts)

    step("three kafkajs member processes join; two of the six partitions each")
    ms = [KjMember(node, n, ferry.workdir, b, topic, group) for n in ("a", "b", "c")]
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
    ends = ends_of(first)
    wait_for(lambda: commits(ms) == ends, 10, "commits reach the end offsets", interval_s=0.1)
    check(True, f"the members' commits reach the end offsets {ends}")

    step("kill -9 member c; produce 600 more; the survivors hold all six partitions")
    a, bm, c = ms
    dead_parts, dead_commit = c.assignment(), c.committed()
    c.kill9()
    t_kill = time.monotonic()
    second = produce(b, topic, "second", 1800, 600)
    wait_stable([a, bm], 3, MOVE_S, "a and b hold all six partitions")
    since = time.monotonic() - t_kill
    check(since <= MOVE_S, f"moved within session timeout + margin ({since:.1f}s <= {MOVE_S}s)")
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

    step("a fourth member d joins: a rebalance gives it partitions")
    d = KjMember(node, "d", ferry.workdir, b, topic, group)
    procs.append(d)
    wait_stable([a, bm, d], 2, 30, "a, b and d share six partitions, two each")
    third = produce(b, topic, "third", 2400, 300)
    wait_consumed([a, bm, d], third, 30, "300 records produced after d joined consumed")
    got3 = [r for r in consumed([a, bm, d]) if r[2].startswith("third-")]
    check_eq(len(got3), len(set(got3)), "records after d joined consumed once")
    check({r[0] for r in d.records()} == set(d.assignment()),
          f"d consumed records of its partitions {d.assignment()} (and only those)")
    fails = [f"{m.name}: {e}" for m in (a, bm, d) for e in m.events("commitfail") +
             m.events("error")]
    check_eq(fails, [], "no commit failed, no crash")
    ends = ends_of(first, second, third)
    wait_for(lambda: commits([a, bm, d]) == ends, 10, "commits reach the end offsets",
             interval_s=0.1)
    check(True, f"the members' commits reach the end offsets {ends}")

    step("members disconnect (LeaveGroup)")
    for m in (a, bm, d):
        check_eq(m.stop(), 0, f"member {m.name} disconnected and exited 0")


def body(args):
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed")
        sys.exit(77)
    if not os.path.isfile(os.path.join(HERE, "node_modules", "kafkajs", "package.json")):
        raise harness.CheckFailed("kafkajs is not installed: run "
                                  "`npm ci --prefix tests/compat --no-audit --no-fund`")
    with harness.group_ferry(args.ferry) as ferry:
        step("kafkajs consumer group, admin group APIs")
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
        p = run([node, os.path.join(HERE, "kafkajs_groups.js"), ferry.bootstrap], timeout_s=90,
                check_rc=False, cwd=HERE, env=env)
        sys.stdout.write(p.stdout.decode(errors="replace"))
        sys.stdout.write(p.stderr.decode(errors="replace"))
        check_eq(p.returncode, 0, "kafkajs_groups.js finished without a failed check")

        procs = []
        try:
            failover(node, ferry, procs)
        except BaseException:
            for m in procs:
                m.dump()
            raise
        finally:
            for m in procs:
                if m.alive():
                    m.kill9()


if __name__ == "__main__":
    harness.main("kafkajs consumer groups against ferry", body)
