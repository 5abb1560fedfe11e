#!/usr/bin/python3
# Consumer groups with kafkajs 2.2.4 against ferry: runs kafkajs_groups.js (two consumers of one
# group share a 4-partition topic and consume everything exactly once; admin describeGroups,
# listGroups, fetchOffsets, resetOffsets, deleteGroups; see that file), on a broker started with
# group.initial.rebalance.delay.ms = 0. Needs `npm ci --prefix tests/compat` (tests/run-all.sh
# does it).
import os
import shutil
import sys

import harness
from harness import check_eq, run, step

HERE = os.path.dirname(os.path.abspath(__file__))


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


if __name__ == "__main__":
    harness.main("kafkajs consumer groups against ferry", body)
