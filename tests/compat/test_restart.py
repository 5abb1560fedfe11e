#!/usr/bin/python3
# Durability across restarts, seen from a real client (confluent-kafka-python): records produced
# with acks=all survive a clean stop (SIGTERM) and a SIGKILL of ferry, in order, with the same
# offsets; topics, partition counts and topic configs survive too; producing after a restart
# continues at the next offsets.
import harness
from harness import check, check_eq, step

N = 600
KEYS = 20
TOPIC = "restart-t"


def batch(tag, n):
    return [{"key": f"k{i % KEYS}".encode(), "value": f"{tag}-{i:05d}".encode()} for i in range(n)]


def merge(a, b):
    out = {p: list(v) for p, v in a.items()}
    for p, v in b.items():
        out.setdefault(p, []).extend(v)
    return out


def check_all_there(ferry, acked, what):
    step(f"consume after {what}")
    got = harness.consume_assigned(ferry.bootstrap, TOPIC, 3, {p: len(v) for p, v in acked.items()})
    harness.check_same_partitions(TOPIC, got, acked)
    total = sum(len(v) for v in acked.values())
    check(True, f"all {total} acknowledged records present after {what}")


def check_topic_survived(ferry, what):
    from confluent_kafka.admin import AdminClient, ConfigResource, RESOURCE_TOPIC
    admin = AdminClient({"bootstrap.servers": ferry.bootstrap})
    md = admin.list_topics(timeout=15)
    check(TOPIC in md.topics and len(md.topics[TOPIC].partitions) == 3,
          f"{TOPIC} still has 3 partitions after {what}")
    res = ConfigResource(RESOURCE_TOPIC, TOPIC)
    cfg = admin.describe_configs([res], request_timeout=15)[res].result(timeout=15)
    check_eq(cfg["retention.ms"].value, "86400000", f"retention.ms still 86400000 after {what}")


def body(args):
    with harness.Ferry(args.ferry) as ferry:
        b = ferry.bootstrap
        harness.admin_create_topic(b, TOPIC, 3, config={"retention.ms": "86400000"})

        step(f"produce {N} records with acks=all")
        acked = harness.produce_confluent(b, TOPIC, batch("first", N), {"acks": "all"})
        check_eq(sorted(acked), [0, 1, 2], "records in all 3 partitions")

        step("stop with SIGTERM and start again on the same data directory and port")
        ferry.restart(hard=False)
        check_topic_survived(ferry, "SIGTERM")
        check_all_there(ferry, acked, "SIGTERM restart")

        step(f"produce {N} more after the restart: offsets continue")
        more = harness.produce_confluent(b, TOPIC, batch("second", N), {"acks": "all"})
        for p, recs in more.items():
            check_eq(recs[0][0], len(acked.get(p, [])),
                     f"{TOPIC}[{p}]: first new offset follows the {len(acked.get(p, []))} old records")
        acked = merge(acked, more)

        step(f"produce {N} more with acks=all, then SIGKILL")
        more = harness.produce_confluent(b, TOPIC, batch("third", N), {"acks": "all"})
        acked = merge(acked, more)
        ferry.restart(hard=True)
        check_topic_survived(ferry, "SIGKILL")
        check_all_there(ferry, acked, "SIGKILL restart")

        step("SIGKILL again right after acknowledgements of small batches")
        more = harness.produce_confluent(b, TOPIC, batch("fourth", 50), {"acks": "all",
                                                                         "linger.ms": 0})
        acked = merge(acked, more)
        ferry.restart(hard=True)
        check_all_there(ferry, acked, "second SIGKILL restart")
        more = harness.produce_confluent(b, TOPIC, batch("fifth", 30), {"acks": "all"})
        for p, recs in more.items():
            check_eq(recs[0][0], len(acked.get(p, [])),
                     f"{TOPIC}[{p}]: producing after SIGKILL continues at offset {len(acked.get(p, []))}")


if __name__ == "__main__":
    harness.main("restart durability against ferry", body)
