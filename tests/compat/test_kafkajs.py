#!/usr/bin/python3
# kafkajs 2.2.4 against ferry: runs kafkajs_client.js (admin and producer; kafkajs's consumer
# needs consumer groups, which ferry does not have yet), then reads every topic back with kcat and
# compares offsets, keys and values, partition by partition, with what kafkajs was acknowledged.
# Needs `npm ci --prefix tests/compat` (tests/run-all.sh does it).
import json
import os
import sys

import harness
from harness import check, check_eq, run, step

HERE = os.path.dirname(os.path.abspath(__file__))


def body(args):
    node = harness.require_kafkajs()
    with harness.Ferry(args.ferry) as ferry:
        b = ferry.bootstrap
        out = os.path.join(ferry.workdir, "kafkajs-acked.json")
        step("kafkajs admin and producer")
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
        p = run([node, os.path.join(HERE, "kafkajs_client.js"), b, out], timeout_s=90,
                check_rc=False, cwd=HERE, env=env)
        sys.stdout.write(p.stdout.decode(errors="replace"))
        sys.stdout.write(p.stderr.decode(errors="replace"))
        check_eq(p.returncode, 0, "kafkajs_client.js finished without a failed check")
        with open(out) as f:
            acked = json.load(f)
        for topic, parts in sorted(acked.items()):
            step(f"kcat reads {topic} back")
            want = {int(p): [(o, k, v) for o, k, v in recs] for p, recs in parts.items()}
            total = sum(len(v) for v in want.values())
            r = run(["kcat", "-C", "-b", b, "-t", topic, "-o", "beginning", "-e", "-q",
                     "-f", r"%p\t%o\t%k\t%s\n"], timeout_s=30)
            got = {}
            for line in r.stdout.decode().splitlines():
                part, off, key, value = line.split("\t", 3)
                got.setdefault(int(part), []).append((int(off), key, value))
            check_eq(sum(len(v) for v in got.values()), total, f"{topic}: {total} records")
            harness.check_same_partitions(topic, got, want)


if __name__ == "__main__":
    harness.main("kafkajs against ferry", body)
