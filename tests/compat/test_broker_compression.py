#!/usr/bin/python3
# Broker-side compression with real clients: uncompressed and gzip kafka-python producers and an
# uncompressed confluent-kafka producer write to a topic created with defaults, whose batches land
# in the segment files as LZ4 (the stored attributes are read from the .log files) and read back
# identically in confluent-kafka, kafka-python and kcat. Topics with compression.type gzip,
# snappy and zstd store those codecs. CreateTopics, AlterConfigs and IncrementalAlterConfigs
# accept Kafka topic configs ferry has no behaviour for and describe them; an unknown key is
# INVALID_CONFIG.
import json
import os
import struct

import harness
from harness import check, check_eq, run, step

SENSORS = 40
PER_PRODUCER = 400
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
TIMEOUT_MS = 15000


def reading(i, who):
    return (f"s{i % SENSORS:02d}".encode(),
            json.dumps({"sensor": f"s{i % SENSORS:02d}", "by": who, "n": i,
                        "temp_c": 20 + (i % 7) / 2, "rh": 40 + i % 13}).encode())


def stored_batches(data_dir, topic, partition=0):
    """(record count, codec id) of every batch in the partition's segment files, in order."""
    d = os.path.join(data_dir, "logs", f"{topic}-{partition}")
    out = []
    for name in sorted(n for n in os.listdir(d) if n.endswith(".log")):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            (length,) = struct.unpack_from(">i", data, pos + 8)
            if length <= 0 or pos + 12 + length > len(data):
                break
            (attributes,) = struct.unpack_from(">h", data, pos + 21)
            (count,) = struct.unpack_from(">i", data, pos + 57)
            out.append((count, attributes & 7))
            pos += 12 + length
    return out


def produce_kafka_python(b, topic, codec, who, first):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=b, acks="all", compression_type=codec, linger_ms=20,
                      request_timeout_ms=TIMEOUT_MS, max_block_ms=TIMEOUT_MS)
    try:
        futures = [p.send(topic, key=k, value=v, partition=0)
                   for k, v in (reading(i, who) for i in range(first, first + PER_PRODUCER))]
        p.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)
    finally:
        p.close(timeout=10)


def expected(producers):
    want = []
    for who, first in producers:
        want += [reading(i, who) for i in range(first, first + PER_PRODUCER)]
    return want


def read_kafka_python(b, topic, n):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=b, group_id=None, enable_auto_commit=False,
                      fetch_max_wait_ms=100, request_timeout_ms=TIMEOUT_MS + 5000)
    got = []
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        harness.wait_for(lambda: got.extend(
            (m.offset, m.key, m.value) for msgs in c.poll(timeout_ms=200).values()
            for m in msgs) or len(got) >= n, 30, f"kafka-python reading {n} records of {topic}")
    finally:
        c.close()
    return got


def read_kcat(b, topic, n):
    p = run(["kcat", "-C", "-b", b, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
             "-f", r"%o\t%k\t%s\n"], timeout_s=30)
    rows = []
    for line in p.stdout.decode().splitlines():
        off, key, value = line.split("\t", 2)
        rows.append((int(off), key.encode(), value.encode()))
    return rows


def check_stored_codec(data_dir, topic, codec, what):
    batches = stored_batches(data_dir, topic)
    check(batches, f"{topic}: batches in the segment files")
    # A batch the codec would not shrink (a lone small record) stays uncompressed; batches of
    # several readings are stored in the topic's codec.
    multi = [c for n, c in batches if n >= 4]
    check(multi and all(c == CODEC_IDS[codec] for c in multi),
          f"{topic}: every stored batch of 4+ records has codec {codec} ({what}); "
          f"batches (count, codec): {batches[:12]}")
    return batches


def compression_part(ferry):
    b = ferry.bootstrap
    topic = "readings"
    step(f"{topic}: created with defaults (compression.type lz4)")
    harness.admin_create_topic(b, topic, 1)
    producers = []
    for codec in (None, "gzip"):
        who = f"kafka-python-{codec or 'none'}"
        step(f"kafka-python, compression {codec}, {PER_PRODUCER} readings -> {topic}")
        produce_kafka_python(b, topic, codec, who, len(producers) * PER_PRODUCER)
        producers.append((who, len(producers) * PER_PRODUCER))
    step(f"confluent-kafka, uncompressed, {PER_PRODUCER} readings -> {topic}")
    first = len(producers) * PER_PRODUCER
    harness.produce_confluent(b, topic, [{"key": k, "value": v, "partition": 0} for k, v in
                                         (reading(i, "confluent") for i in
                                          range(first, first + PER_PRODUCER))],
                              conf={"compression.type": "none", "linger.ms": 20})
    producers.append(("confluent", first))
    want = expected(producers)
    n = len(want)
    batches = check_stored_codec(ferry.data_dir, topic, "lz4", "sent uncompressed and gzip")
    check_eq(sum(c for c, _ in batches), n, f"{topic}: {n} records in the stored batches")
    want_rows = [(o, k, v) for o, (k, v) in enumerate(want)]

    step(f"read {topic} back in confluent-kafka, kafka-python and kcat")
    got = harness.consume_assigned(b, topic, 1, {0: n})
    check_eq(got[0], want_rows, f"{topic}: confluent-kafka reads every record as sent")
    check_eq(read_kafka_python(b, topic, n), want_rows,
             f"{topic}: kafka-python reads every record as sent")
    check_eq(read_kcat(b, topic, n), want_rows, f"{topic}: kcat reads every record as sent")

    for codec in ("gzip", "snappy", "zstd"):
        t = f"readings-{codec}"
        step(f"{t}: compression.type={codec}, uncompressed confluent-kafka producer")
        harness.admin_create_topic(b, t, 1, {"compression.type": codec})
        msgs = [reading(i, codec) for i in range(PER_PRODUCER)]
        harness.produce_confluent(b, t, [{"key": k, "value": v, "partition": 0} for k, v in msgs],
                                  conf={"compression.type": "lz4", "linger.ms": 20})
        check_stored_codec(ferry.data_dir, t, codec, "sent as LZ4")
        got = harness.consume_assigned(b, t, 1, {0: len(msgs)})
        check_eq(got[0], [(o, k, v) for o, (k, v) in enumerate(msgs)],
                 f"{t}: confluent-kafka reads every record as sent")

    t = "readings-producer"
    step(f"{t}: compression.type=producer keeps the producer's codec")
    harness.admin_create_topic(b, t, 1, {"compression.type": "producer"})
    produce_kafka_python(b, t, "gzip", "producer", 0)
    check_stored_codec(ferry.data_dir, t, "gzip", "as sent")


# Kafka 3.x topic configs ferry accepts without behaviour (docs/CONFIG.md), with Kafka values.
KAFKA_ONLY = {"preallocate": "true", "segment.jitter.ms": "1000",
              "message.downconversion.enable": "false", "unclean.leader.election.enable": "true",
              "message.format.version": "2.8-IV1", "segment.index.bytes": "1048576",
              "file.delete.delay.ms": "0", "local.retention.ms": "-2",
              "message.timestamp.difference.max.ms": "3600000"}


def configs_part(b):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    admin = AdminClient({"bootstrap.servers": b})
    step("CreateTopics with Kafka topic configs ferry has no behaviour for")
    harness.admin_create_topic(b, "kafka-keys", 1, dict(KAFKA_ONLY, **{"compression.type": "snappy"}))
    res = ConfigResource(ConfigResource.Type.TOPIC, "kafka-keys")
    described = admin.describe_configs([res])[res].result(timeout=15)
    for key, value in dict(KAFKA_ONLY, **{"compression.type": "snappy"}).items():
        check_eq(described[key].value, value, f"DescribeConfigs returns {key}={value}")

    step("AlterConfigs (the legacy whole-set API) with Kafka keys")
    res.set_config("preallocate", "false")
    res.set_config("message.timestamp.before.max.ms", "86400000")
    res.set_config("compression.type", "zstd")
    admin.alter_configs([res])[res].result(timeout=15)
    described = admin.describe_configs([res])[res].result(timeout=15)
    check_eq(described["preallocate"].value, "false", "AlterConfigs set preallocate")
    check_eq(described["message.timestamp.before.max.ms"].value, "86400000",
             "AlterConfigs set message.timestamp.before.max.ms")
    check_eq(described["compression.type"].value, "zstd", "AlterConfigs set compression.type")

    step("an unknown topic config is INVALID_CONFIG, in CreateTopics and AlterConfigs")
    f = admin.create_topics([NewTopic("unknown-key", 1, 1, config={"retention.kilobytes": "1"})],
                            operation_timeout=15, request_timeout=15)["unknown-key"]
    try:
        f.result(timeout=15)
        check(False, "CreateTopics with retention.kilobytes was refused")
    except KafkaException as e:
        check_eq(e.args[0].name(), "INVALID_CONFIG", "CreateTopics with an unknown key")
    bad = ConfigResource(ConfigResource.Type.TOPIC, "kafka-keys",
                         set_config={"retention.kilobytes": "1"})
    try:
        admin.alter_configs([bad])[bad].result(timeout=15)
        check(False, "AlterConfigs with retention.kilobytes was refused")
    except KafkaException as e:
        check_eq(e.args[0].name(), "INVALID_CONFIG", "AlterConfigs with an unknown key")

    step("kafka-python: CreateTopics with Kafka keys, DescribeConfigs")
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, NewTopic as KNew
    kadmin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=TIMEOUT_MS)
    try:
        r = kadmin.create_topics([KNew("kp-kafka-keys", 1, 1, topic_configs={
            "compression.type": "gzip", "remote.storage.enable": "false",
            "follower.replication.throttled.replicas": "", "compression.gzip.level": "6"})],
            timeout_ms=TIMEOUT_MS)
        check_eq([tuple(e[:2]) for e in r.topic_errors], [("kp-kafka-keys", 0)],
                 "kafka-python CreateTopics with Kafka keys")
        r = kadmin.describe_configs([KConfigResource(ConfigResourceType.TOPIC, "kp-kafka-keys")])
        entries = {e[0]: e[1] for e in r[0].resources[0][4]}
        check_eq(entries.get("compression.gzip.level"), "6", "kafka-python describes it")
    finally:
        kadmin.close()


def body(args):
    with harness.Ferry(args.ferry) as ferry:
        compression_part(ferry)
        configs_part(ferry.bootstrap)


if __name__ == "__main__":
    harness.main("broker-side compression and Kafka topic configs against ferry", body)
