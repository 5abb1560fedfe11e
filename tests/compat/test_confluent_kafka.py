#!/usr/bin/python3
# confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against ferry: the admin API (create topics
# with configs, list, describe/alter configs, add partitions, delete), the producer with acks=all
# and every compression codec, an assign()-only consumer reading back exactly what was delivered,
# and ListOffsets through watermarks and offsets_for_times.
import time

import harness
from harness import check, check_eq, step, CheckFailed

N = 400
KEYS = 16
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
TIMEOUT = 15


def admin_client(b):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": b})


def result(future, what):
    try:
        return future.result(timeout=TIMEOUT)
    except Exception as e:  # KafkaException carries the broker's error
        raise CheckFailed(f"{what} failed: {e}")


def describe_topic(admin, topic):
    from confluent_kafka.admin import ConfigResource, RESOURCE_TOPIC
    res = ConfigResource(RESOURCE_TOPIC, topic)
    fs = admin.describe_configs([res], request_timeout=TIMEOUT)
    return result(fs[res], f"DescribeConfigs {topic}")


def source_name(entry):
    from confluent_kafka.admin import ConfigSource
    try:
        return ConfigSource(int(entry.source)).name
    except ValueError:
        return str(entry.source)


def topic_partitions(admin, topic):
    md = admin.list_topics(timeout=TIMEOUT)
    t = md.topics.get(topic)
    if t is None:
        return None
    return t


def admin_part(b):
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic, RESOURCE_TOPIC
    from confluent_kafka import KafkaError
    admin = admin_client(b)
    topic = "ck-admin"

    step("CreateTopics with configs")
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1,
                                       config={"retention.ms": "3600000",
                                               "max.message.bytes": "500000"})],
                             operation_timeout=TIMEOUT, request_timeout=TIMEOUT)
    result(fs[topic], f"CreateTopics {topic}")
    check(True, f"created {topic} with retention.ms=3600000 max.message.bytes=500000")
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                             request_timeout=TIMEOUT)
    try:
        fs[topic].result(timeout=TIMEOUT)
        raise CheckFailed(f"creating {topic} a second time succeeded")
    except CheckFailed:
        raise
    except Exception as e:
        code = e.args[0].code() if e.args and hasattr(e.args[0], "code") else None
        check_eq(code, KafkaError.TOPIC_ALREADY_EXISTS, "second CreateTopics: TOPIC_ALREADY_EXISTS")
    fs = admin.create_topics([NewTopic("ck-bad", num_partitions=1, replication_factor=3)],
                             request_timeout=TIMEOUT)
    try:
        fs["ck-bad"].result(timeout=TIMEOUT)
        raise CheckFailed("replication factor 3 on a single broker was accepted")
    except CheckFailed:
        raise
    except Exception as e:
        code = e.args[0].code() if e.args and hasattr(e.args[0], "code") else None
        check_eq(code, KafkaError.INVALID_REPLICATION_FACTOR,
                 "replication_factor=3 on one broker: INVALID_REPLICATION_FACTOR")

    step("Metadata via list_topics")
    md = admin.list_topics(timeout=TIMEOUT)
    check_eq(len(md.brokers), 1, "one broker in metadata")
    broker = next(iter(md.brokers.values()))
    check_eq((broker.host, broker.port), ("127.0.0.1", int(b.split(":")[1])),
             "broker advertised at the bootstrap address")
    t = md.topics.get(topic)
    check(t is not None and t.error is None, f"{topic} listed without error")
    check_eq(sorted(t.partitions), [0, 1, 2], f"{topic} has partitions 0,1,2")
    check(all(p.leader == broker.id and list(p.replicas) == [broker.id] and
              list(p.isrs) == [broker.id] for p in t.partitions.values()),
          f"{topic}: leader, replicas and ISR are broker {broker.id}")
    check("ck-bad" not in md.topics, "the rejected topic does not exist")

    step("DescribeConfigs: values and sources")
    cfg = describe_topic(admin, topic)
    for name in ("retention.ms", "max.message.bytes", "cleanup.policy"):
        check(name in cfg, f"{topic} describes {name}")
    check_eq((cfg["retention.ms"].value, source_name(cfg["retention.ms"])),
             ("3600000", "DYNAMIC_TOPIC_CONFIG"), "retention.ms = 3600000, set on the topic")
    check_eq((cfg["max.message.bytes"].value, source_name(cfg["max.message.bytes"])),
             ("500000", "DYNAMIC_TOPIC_CONFIG"), "max.message.bytes = 500000, set on the topic")
    check_eq(cfg["cleanup.policy"].value, "delete", "cleanup.policy defaults to delete")
    check(source_name(cfg["cleanup.policy"]) in ("DEFAULT_CONFIG", "STATIC_BROKER_CONFIG"),
          f"cleanup.policy source is a default ({source_name(cfg['cleanup.policy'])})")
    check(not cfg["cleanup.policy"].is_sensitive, "cleanup.policy is not sensitive")

    step("AlterConfigs (replaces the topic's whole dynamic config)")
    res = ConfigResource(RESOURCE_TOPIC, topic, set_config={"retention.ms": "7200000"})
    fs = admin.alter_configs([res], request_timeout=TIMEOUT)
    result(fs[res], f"AlterConfigs {topic}")
    cfg = describe_topic(admin, topic)
    check_eq((cfg["retention.ms"].value, source_name(cfg["retention.ms"])),
             ("7200000", "DYNAMIC_TOPIC_CONFIG"), "retention.ms altered to 7200000")
    check_eq(cfg["max.message.bytes"].value, "1048588",
             "max.message.bytes, not in the AlterConfigs request, is back to its default 1048588")
    check(source_name(cfg["max.message.bytes"]) != "DYNAMIC_TOPIC_CONFIG",
          f"max.message.bytes source is no longer the topic ({source_name(cfg['max.message.bytes'])})")
    bad = ConfigResource(RESOURCE_TOPIC, topic, set_config={"retention.ms": "not-a-number"})
    fs = admin.alter_configs([bad], request_timeout=TIMEOUT)
    try:
        fs[bad].result(timeout=TIMEOUT)
        raise CheckFailed("AlterConfigs retention.ms=not-a-number was accepted")
    except CheckFailed:
        raise
    except Exception as e:
        check(True, f"AlterConfigs retention.ms=not-a-number rejected ({e})")
    cfg = describe_topic(admin, topic)
    check_eq(cfg["retention.ms"].value, "7200000", "a rejected AlterConfigs changed nothing")

    step("CreatePartitions 3 -> 5")
    fs = admin.create_partitions([NewPartitions(topic, 5)], request_timeout=TIMEOUT)
    result(fs[topic], f"CreatePartitions {topic}")
    t = harness.wait_for(lambda: (lambda t: t if t and len(t.partitions) == 5 else None)(
        topic_partitions(admin, topic)), TIMEOUT, f"{topic} to show 5 partitions")
    check_eq(sorted(t.partitions), [0, 1, 2, 3, 4], f"{topic} now has partitions 0..4")
    fs = admin.create_partitions([NewPartitions(topic, 4)], request_timeout=TIMEOUT)
    try:
        fs[topic].result(timeout=TIMEOUT)
        raise CheckFailed("shrinking 5 -> 4 partitions was accepted")
    except CheckFailed:
        raise
    except Exception as e:
        code = e.args[0].code() if e.args and hasattr(e.args[0], "code") else None
        check_eq(code, KafkaError.INVALID_PARTITIONS, "shrinking partitions: INVALID_PARTITIONS")
    sent = harness.produce_confluent(b, topic, [{"key": b"new", "value": f"p4-{i}".encode(),
                                                 "partition": 4} for i in range(10)])
    check_eq(sorted(sent), [4], "records went to the new partition 4")
    got = harness.consume_assigned(b, topic, 5, {4: 10})
    harness.check_same_partitions(topic, {4: got[4]}, sent)

    step("DeleteTopics")
    fs = admin.delete_topics([topic], operation_timeout=TIMEOUT, request_timeout=TIMEOUT)
    result(fs[topic], f"DeleteTopics {topic}")
    harness.wait_for(lambda: topic_partitions(admin, topic) is None, TIMEOUT,
                     f"{topic} to disappear from metadata")
    check(True, f"{topic} no longer listed")
    fs = admin.delete_topics(["ck-never-existed"], request_timeout=TIMEOUT)
    try:
        fs["ck-never-existed"].result(timeout=TIMEOUT)
        raise CheckFailed("deleting a topic that does not exist succeeded")
    except CheckFailed:
        raise
    except Exception as e:
        code = e.args[0].code() if e.args and hasattr(e.args[0], "code") else None
        check_eq(code, KafkaError.UNKNOWN_TOPIC_OR_PART,
                 "deleting an unknown topic: UNKNOWN_TOPIC_OR_PARTITION")


def produce_consume_part(b):
    from confluent_kafka import Consumer, TopicPartition
    base_ts = int(time.time() * 1000) - 3_600_000  # an hour ago, 10 ms apart
    for codec in CODECS:
        topic = f"ck-{codec}"
        step(f"produce {N} records, acks=all, compression {codec}, to {topic}")
        harness.admin_create_topic(b, topic, 3)
        messages = [{"key": f"k{i % KEYS}".encode(), "value": f"{codec}-{i:05d}-".encode() + b"y" * 80,
                     "timestamp": base_ts + 10 * i,
                     "headers": [("i", str(i).encode())]} for i in range(N)]
        sent = harness.produce_confluent(b, topic, messages,
                                         {"compression.type": codec, "acks": "all"})
        check_eq(sorted(sent), [0, 1, 2], f"{topic}: delivered to all 3 partitions")
        for part, recs in sorted(sent.items()):
            check_eq([o for o, _, _ in recs], list(range(len(recs))),
                     f"{topic}[{part}]: delivered offsets are 0..{len(recs) - 1}")
            order = [int(v.split(b"-")[1]) for _, _, v in recs]
            check_eq(order, sorted(order), f"{topic}[{part}]: offsets follow produce order")

        step(f"consume {topic} with assign() from the beginning")
        meta = {}
        got = harness.consume_assigned(b, topic, 3, {p: len(r) for p, r in sent.items()},
                                       meta=meta)
        harness.check_same_partitions(topic, got, sent)
        want_meta = {(p, o): (base_ts + 10 * int(v.split(b"-")[1]),
                              [("i", str(int(v.split(b"-")[1])).encode())])
                     for p, recs in sent.items() for o, _, v in recs}
        check_eq(meta, want_meta, f"{topic}: every record's timestamp and header as produced")

        step(f"ListOffsets on {topic}")
        c = Consumer({"bootstrap.servers": b, "group.id": "ferry-compat-unused",
                      "enable.auto.commit": False})
        try:
            for part, recs in sorted(sent.items()):
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=TIMEOUT)
                check_eq((lo, hi), (0, len(recs)), f"{topic}[{part}]: watermarks (0, {len(recs)})")
            # Timestamps of partition 0's records: base_ts + 10*i for message i.
            recs = sent[0]
            idx = [int(v.split(b"-")[1]) for _, _, v in recs]
            probes = [(base_ts + 10 * idx[0], 0),                       # exact first
                      (base_ts + 10 * idx[len(idx) // 2], len(idx) // 2),  # exact middle
                      (base_ts + 10 * idx[len(idx) // 2] - 1, len(idx) // 2),  # just before
                      (base_ts - 100_000, 0),                           # before everything
                      (base_ts + 10 * idx[-1] + 1, -1)]                 # after everything
            for ts, want in probes:
                r = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=TIMEOUT)
                check_eq((r[0].error, r[0].offset), (None, want),
                         f"{topic}[0]: offsets_for_times({ts}) = {want}")
        finally:
            c.close()


def body(args):
    with harness.Ferry(args.ferry) as ferry:
        admin_part(ferry.bootstrap)
        produce_consume_part(ferry.bootstrap)


if __name__ == "__main__":
    harness.main("confluent-kafka-python against ferry", body)
