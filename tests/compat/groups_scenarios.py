# Consumer-group scenarios shared by the per-client group tests (test_groups_confluent.py,
# test_groups_kafka_python.py, test_groups_kafkajs.py). Each test supplies a Client: how to start
# a member process (an object with groups_consumer.Member's methods), how to produce, and how to
# read the group's committed offsets; the scenario's steps and checks are the same for every
# client.
import time

from harness import check, check_eq, step, wait_for, CheckFailed

SESSION_MS = 6000
# A dead member's partitions move after the session timeout, one heartbeat for the survivors to
# hear of the rebalance, their JoinGroup and SyncGroup, plus slack for slow machines.
MOVE_S = SESSION_MS / 1000 + 12


class Client:
    """What a scenario needs from one client library; tests subclass it."""

    name = "client"          # for step titles
    strict_assignment = True  # a member consumes only the partitions it holds at the end

    def member(self, name, topic, group):
        """Starts a member process subscribed to `topic` in `group`."""
        raise NotImplementedError

    def produce(self, topic, tag, start, n, keys=60):
        """Produces `n` keyed records "tag-NNNNN" (acks=all); returns {(partition, offset,
        value)} of the acknowledged ones."""
        raise NotImplementedError

    def committed(self, members, group, topic, parts):
        """The group's committed offsets {partition: offset} (partitions without one left
        out)."""
        raise NotImplementedError

    def after_first_round(self, members, group):
        """Extra checks while the first three members are stable (admin APIs)."""

    def after_close(self, group, topic, parts, ends):
        """Extra checks once every member closed."""


def wait_stable(members, parts, per_member, timeout_s, what):
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
    """Waits until the union of what `members` consumed contains `want` (a set)."""
    try:
        wait_for(lambda: want <= set(consumed(members)), timeout_s, what, interval_s=0.1)
    except CheckFailed:
        missing = sorted(want - set(consumed(members)))
        raise CheckFailed(f"{what}: {len(missing)} of {len(want)} records not consumed within "
                          f"{timeout_s}s, first: {missing[:5]}")


def check_once(got, want, what):
    dups = len(got) - len(set(got))
    extra = set(got) - want
    check(not extra, f"{what}: nothing consumed that was not produced ({len(extra)} unknown)")
    check_eq(dups, 0, f"{what}: no record consumed twice")
    check_eq(len(set(got) & want), len(want), f"{what}: all {len(want)} records consumed")


def ends_of(*sets):
    """End offsets of a fresh topic from every record produced to it."""
    ends = {}
    for recs in sets:
        for p, o, _v in recs:
            ends[p] = max(ends.get(p, 0), o + 1)
    return dict(sorted(ends.items()))


def failover(client, topic, group, first_n, procs, parts=6):
    """Three members share a `parts`-partition topic two partitions each and consume `first_n`
    records exactly once, committing after each batch. One is killed with SIGKILL and 600 more
    records are produced: its partitions move to the two survivors within the session timeout
    plus a margin, they continue at its committed offsets and consume every new record
    (repeats only at or after the dead member's last commit). A fourth member joins, gets two
    partitions and consumes part of the 300 records produced next, each exactly once. Records
    are produced only once every member has its final assignment. `procs` collects the member
    processes, for the caller to dump and kill on failure. The topic must exist and be empty."""
    step(f"three {client.name} members join; two of the {parts} partitions each")
    ms = [client.member(n, topic, group) for n in ("a", "b", "c")]
    procs.extend(ms)
    wait_stable(ms, parts, 2, 30, f"three members share {parts} partitions, two each")

    step(f"produce {first_n} keyed records; consumed exactly once across the three")
    first = client.produce(topic, "first", 0, first_n)
    check_eq(sorted({p for p, _o, _v in first}), list(range(parts)), "records in all partitions")
    wait_consumed(ms, first, 30, f"{first_n} records consumed by the group")
    for m in ms:
        check({r[0] for r in m.records()} <= set(m.assignment()),
              f"member {m.name} consumed only its partitions {m.assignment()}")
    check_once(consumed(ms), first, "three members")
    client.after_first_round(ms, group)
    ends = ends_of(first)
    wait_for(lambda: client.committed(ms, group, topic, parts) == ends, 10,
             "committed offsets == end offsets", interval_s=0.2)
    check(True, f"committed offsets == end offsets {ends}")

    step("kill -9 member c; produce 600 more; its partitions move to a and b")
    a, bm, c = ms
    dead_parts, dead_commit = c.assignment(), c.committed()
    c.kill9()
    t_kill = time.monotonic()
    second = client.produce(topic, "second", first_n, 600)
    wait_stable([a, bm], parts, parts // 2, MOVE_S, "a and b take over c's partitions")
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
    # Records before the kill were consumed once; a or b must not have re-read them.
    again = [r for r in consumed([a, bm]) if r in first]
    check_eq(len(again), len(set(again)), "no record from before the kill consumed twice by a/b")

    step("a fourth member d joins: a rebalance gives it two partitions")
    d = client.member("d", topic, group)
    procs.append(d)
    wait_stable([a, bm, d], parts, 2, 30, f"a, b and d share {parts} partitions, two each")
    third = client.produce(topic, "third", first_n + 600, 300)
    wait_consumed([a, bm, d], third, 30, "300 records produced after d joined consumed")
    got3 = [r for r in consumed([a, bm, d]) if r[2].startswith("third-")]
    check_eq(len(got3), len(set(got3)), "records after d joined consumed once")
    mine = {r[0] for r in d.records()}
    if client.strict_assignment:
        check(mine == set(d.assignment()),
              f"d consumed records of its partitions {d.assignment()} (and only those)")
    else:
        check(mine >= set(d.assignment()),
              f"d consumed records from its partitions {d.assignment()}")
    fails = [f"{m.name}: {e}" for m in (a, bm, d) for e in m.events("commitfail") +
             m.events("error")]
    check_eq(fails, [], "no commit failed, no member error")
    ends = ends_of(first, second, third)
    wait_for(lambda: client.committed([a, bm, d], group, topic, parts) == ends, 10,
             "committed offsets == end offsets", interval_s=0.2)
    check(True, f"committed offsets == end offsets {ends}")

    step("members close (LeaveGroup); the group keeps its offsets")
    for m in (a, bm, d):
        check_eq(m.stop(), 0, f"member {m.name} closed its consumer and exited 0")
    client.after_close(group, topic, parts, ends)


def run_with_members(scenario, *args):
    """Runs `scenario(*args, procs)`; on failure dumps the member processes' output; always
    kills those still running."""
    procs = []
    try:
        scenario(*args, procs)
    except BaseException:
        for m in procs:
            m.dump()
        raise
    finally:
        for m in procs:
            if m.alive():
                m.kill9()
