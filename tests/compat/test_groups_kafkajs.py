#!/usr/bin/python3
# Consumer groups with kafkajs 2.2.4 against ferry: runs kafkajs_groups.js (two consumers of one
# group share a 4-partition topic and consume everything exactly once; admin describeGroups,
# listGroups, fetchOffsets, resetOffsets, deleteGroups; see that file), on a broker started with
# group.initial.rebalance.delay.ms = 0. Needs `npm ci --prefix tests/compat` (tests/run-all.sh
# does it).
#
# Then groups_scenarios.failover with member processes (kafkajs_group_member.js: consumer.run
# with eachMessage, autoCommit false and consumer.commitOffsets after each message,
# RoundRobinAssigner, sessionTimeout 6000, heartbeats every second) on a 6-partition topic, 1800
# records first. The records are produced with confluent-kafka (harness.produce_confluent).
import os
import sys

import groups_scenarios as scenarios
import harness
from harness import check_eq, run, step
from groups_consumer import Member

HERE = os.path.dirname(os.path.abspath(__file__))


class KjMember(Member):
    """A kafkajs_group_member.js process; parsing and stopping as groups_consumer.Member (kafkajs
    has no revoke event: the assignment is that of the latest GROUP_JOIN)."""

    def __init__(self, node, name, workdir, bootstrap, topic, group):
        self.name = name
        self.out = os.path.join(workdir, f"member-{name}.out")
        self.log = os.path.join(workdir, f"member-{name}.log")
        self.cmd = [node, os.path.join(HERE, "kafkajs_group_member.js"), bootstrap, topic, group,
                    self.out, str(scenarios.SESSION_MS)]
        self.proc = None
        self.start()


def records(tag, start, n, keys=60):
    return [{"key": f"k{i % keys}".encode(), "value": f"{tag}-{i:05d}".encode()}
            for i in range(start, start + n)]


class Kafkajs(scenarios.Client):
    """kafkajs members; the records are produced with confluent-kafka, and the group's
    committed offsets are what the members last committed."""
    name = "kafkajs"

    def __init__(self, node, ferry):
        self.node, self.ferry = node, ferry

    def member(self, name, topic, group):
        return KjMember(self.node, name, self.ferry.workdir, self.ferry.bootstrap, topic, group)

    def produce(self, topic, tag, start, n, keys=60):
        acked = harness.produce_confluent(self.ferry.bootstrap, topic,
                                          records(tag, start, n, keys))
        return {(p, o, v.decode()) for p, recs in acked.items() for o, _k, v in recs}

    def committed(self, members, group, topic, parts):
        out = {}
        for m in members:
            for p, o in m.committed().items():
                out[p] = max(out.get(p, 0), o)
        return out


def failover(node, ferry, procs):
    topic = "kj-six"
    harness.admin_create_topic(ferry.bootstrap, topic, 6)
    scenarios.failover(Kafkajs(node, ferry), topic, "kj-failover", 1800, procs)


def body(args):
    node = harness.require_kafkajs()
    with harness.group_ferry(args.ferry) as ferry:
        step("kafkajs consumer group, admin group APIs")
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
        p = run([node, os.path.join(HERE, "kafkajs_groups.js"), ferry.bootstrap], timeout_s=90,
                check_rc=False, cwd=HERE, env=env)
        sys.stdout.write(p.stdout.decode(errors="replace"))
        sys.stdout.write(p.stderr.decode(errors="replace"))
        check_eq(p.returncode, 0, "kafkajs_groups.js finished without a failed check")

        scenarios.run_with_members(failover, node, ferry)


if __name__ == "__main__":
    harness.main("kafkajs consumer groups against ferry", body)
