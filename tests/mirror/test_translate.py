# End-to-end test of offset translation (docs/mirror.md, "Offset translation"): a gateway
# `ferry serve` mirrors `t.a` (2 partitions) to a central `ferry serve` as `site.t.a`, whose
# partition 0 already holds 5 records of another writer before the mirror starts and gets 3 more
# between two rounds (so the difference target - source is 5, then 8 there, and 0 on partition
# 1). A gateway consumer group commits positions inside each round; then:
#   - `ferry mirror status --json` shows the offset map rows and current difference,
#   - `ferry mirror translate` answers exactly, and refuses an offset not forwarded yet,
#   - `ferry groups --translate` refuses while the central group has an active member, then
#     commits the translated offsets,
#   - a confluent-kafka consumer in that group on the central cluster starts exactly at the
#     record after the gateway group's committed position, on each partition.
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import (CheckFailed, Ferry, check, check_eq, step, wait_for,  # noqa: E402
                     admin_create_topic, produce_confluent)
from mirror_harness import status_partitions  # noqa: E402

TOPIC = "t.a"
TARGET = "site.t.a"
PER_ROUND = 30
COMMITS = {0: 45, 1: 12}  # the gateway group's committed offsets (round 2 and round 1)


def ferry_cmd(ferry_bin, *argv, timeout_s=20):
    r = subprocess.run([ferry_bin, *argv], capture_output=True, timeout=timeout_s)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def mirror_partitions(ferry_bin, data_dir):
    return {part: p for (_, part), p in status_partitions(ferry_bin, data_dir, TOPIC).items()}


def produce_round(bootstrap, rnd):
    msgs = []
    for seq in range(rnd * PER_ROUND, (rnd + 1) * PER_ROUND):
        for part in (0, 1):
            msgs.append({"partition": part, "key": f"k{part}-{seq}",
                         "value": f"{TOPIC}:{part}:{seq}"})
    produce_confluent(bootstrap, TOPIC, msgs, conf={"linger.ms": 20})


def wait_forwarded(ferry_bin, data_dir, upto):
    def done():
        ps = mirror_partitions(ferry_bin, data_dir)
        return len(ps) == 2 and all(p["forwarded"] == upto for p in ps.values())
    wait_for(done, 30, f"both partitions forwarded up to {upto}")


def commit_gateway_group(bootstrap):
    """Reads each partition with a group consumer up to the committed position and commits it."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
    try:
        c.assign([TopicPartition(TOPIC, p, 0) for p in COMMITS])
        last = {p: -1 for p in COMMITS}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(last[p] < COMMITS[p] - 1 for p in COMMITS):
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            if m.offset() < COMMITS[m.partition()]:
                last[m.partition()] = m.offset()
        check(all(last[p] == COMMITS[p] - 1 for p in COMMITS), "the gateway group read its records")
        c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in COMMITS.items()],
                 asynchronous=False)
    finally:
        c.close()


def central_consumer(bootstrap):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100,
                  "session.timeout.ms": 6000})
    c.subscribe([TARGET])
    return c


def body(args):
    central = Ferry(args.ferry)
    with central:
        step("the target topic holds 5 records of another writer before the mirror starts")
        admin_create_topic(central.bootstrap, TARGET, 2)
        produce_confluent(central.bootstrap, TARGET,
                          [{"partition": 0, "value": f"other-{i}"} for i in range(5)])
        config = f"""
[[mirror]]
name = "central"
bootstrap.servers = "{central.bootstrap}"
topics = ["t\\\\..*"]
target.topic = "site.{{topic}}"
"""
        gateway = Ferry(args.ferry, config_text=config)
        with gateway:
            run(args, central, gateway)


def run(args, central, gateway):
    admin_create_topic(gateway.bootstrap, TOPIC, 2)
    step("round 1 forwarded; 3 more records of another writer; round 2 forwarded")
    produce_round(gateway.bootstrap, 0)
    wait_forwarded(args.ferry, gateway.data_dir, PER_ROUND)
    produce_confluent(central.bootstrap, TARGET,
                      [{"partition": 0, "value": f"other-late-{i}"} for i in range(3)])
    produce_round(gateway.bootstrap, 1)
    wait_forwarded(args.ferry, gateway.data_dir, 2 * PER_ROUND)

    step("ferry mirror status --json shows the offset map")
    ps = mirror_partitions(args.ferry, gateway.data_dir)
    m0, m1 = ps[0]["offset_map"], ps[1]["offset_map"]
    print(f"  partition 0: {m0}\n  partition 1: {m1}", flush=True)
    check_eq(m0["rows"], [{"source": 0, "target": 5}, {"source": 30, "target": 38}],
             "partition 0: a row at the first record and one where the difference changed")
    check_eq((m0["delta"], m0["forwarded"], m0["forwarded_target"]), (8, 60, 68),
             "partition 0: difference 8, forwarded 60 = target 68")
    check_eq(m1["rows"], [{"source": 0, "target": 0}], "partition 1: one row")
    check_eq(m1["delta"], 0, "partition 1: difference 0")

    step("ferry mirror translate")
    common = ["--mirror", "central", "--topic", TOPIC, "--data-dir", gateway.data_dir]
    for part, source, want in ((0, 10, 15), (0, 30, 38), (0, 45, 53), (0, 60, 68), (1, 12, 12)):
        rc, out, err = ferry_cmd(args.ferry, "mirror", "translate", *common, "--partition",
                                 str(part), "--offset", str(source))
        check_eq((rc, out.strip()), (0, str(want)),
                 f"partition {part}: source offset {source} is target offset {want} ({err.strip()})")
    rc, out, err = ferry_cmd(args.ferry, "mirror", "translate", *common, "--partition", "0",
                             "--offset", "61")
    check(rc == 1 and out == "" and "not forwarded" in err,
          f"an offset past the forwarded position is refused, not guessed ({rc}, {err.strip()})")

    step("a gateway group commits; ferry groups --translate refuses an occupied central group")
    commit_gateway_group(gateway.bootstrap)
    translate = ["groups", "--translate", "--group", "g", "--mirror", "central",
                 "--config", gateway.config_path, "--data-dir", gateway.data_dir,
                 "--bootstrap", gateway.bootstrap, "--execute", "--json"]
    member = central_consumer(central.bootstrap)
    try:
        wait_for(lambda: member.poll(0.2) is not None or bool(member.assignment()), 20,
                 "a member in the central group")
        rc, out, err = ferry_cmd(args.ferry, *translate)
        check(rc == 1 and "not empty" in err,
              f"refused while the central group has a member ({rc}, {err.strip()})")
    finally:
        member.close()

    step("ferry groups --translate commits the translated offsets")
    rc, out, err = ferry_cmd(args.ferry, *translate)
    check_eq(rc, 0, f"ferry groups --translate ({err.strip()})")
    plan = {p["partition"]: p for p in json.loads(out)["partitions"]}
    check_eq({p: (plan[p]["target_topic"], plan[p]["target_offset"]) for p in plan},
             {0: (TARGET, 53), 1: (TARGET, 12)}, "the plan")

    step("a central consumer in the group starts right after the gateway group's position")
    c = central_consumer(central.bootstrap)
    first = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(first) < 2:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            first.setdefault(m.partition(), (m.offset(), m.value().decode()))
    finally:
        c.close()
    check_eq(first, {0: (53, f"{TOPIC}:0:45"), 1: (12, f"{TOPIC}:1:12")},
             "first records read on the central cluster")


def main():
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", required=True)
    args = p.parse_args()
    start = time.monotonic()
    try:
        body(args)
    except CheckFailed as e:
        print(f"FAIL mirror translate: {e}", flush=True)
        sys.exit(1)
    print(f"PASS mirror translate ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
