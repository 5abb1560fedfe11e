#!/usr/bin/python3
# Compacted topics seen from real clients. A topic with cleanup.policy=compact and segment.ms=100
# (a roll about every round) gets 12 keys written 6 times; the cleaner (log.cleaner.backoff.ms =
# 100) compacts it; then confluent-kafka, kafka-python, kcat, a kafkajs consumer group, sarama
# (sarama_client/main.go -compacted: partition consumers of four versions, so Fetch v0 and v3 are
# down-converted to magic 0 and 1, and Fetch v4 reads the stored batches) and kafka-go's Reader
# (the same program with -client kafka-go, built with -tags kafkago: Fetch v2, magic 1) read it
# from offset 0. Each must see offsets with gaps, only records that were written (same offset,
# key and value), the latest value of every key, and every record of the last round. A
# confluent-kafka consumer group reads it from the start too. A record without a key is refused
# with INVALID_RECORD, as Kafka refuses it on compacted topics.
import collections
import json
import os
import shutil
import tempfile
import time

import harness
from harness import check, check_eq, step

TOPIC = "compacted"
KEYS = 12
ROUNDS = 6
CONFIG = "[broker]\nlog.cleaner.backoff.ms = 100\ngroup.initial.rebalance.delay.ms = 0\n"


def read_confluent(bootstrap, end, group=None):
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    conf = {"bootstrap.servers": bootstrap, "group.id": group or "ferry-compat-unused",
            "enable.auto.commit": group is not None, "enable.partition.eof": True,
            "fetch.wait.max.ms": 100, "auto.offset.reset": "earliest"}
    c = Consumer(conf)
    out = []
    try:
        if group:
            c.subscribe([TOPIC])
        else:
            c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not out or out[-1][0] + 1 < end):
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise harness.CheckFailed(f"consumer error: {m.error()}")
            out.append((m.offset(), m.key(), m.value()))
    finally:
        c.close()
    return out


def read_kafka_python(bootstrap, end):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      fetch_max_wait_ms=100, api_version_auto_timeout_ms=10000)
    out = []
    try:
        tp = TopicPartition(TOPIC, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not out or out[-1][0] + 1 < end):
            for _, msgs in c.poll(timeout_ms=200).items():
                out.extend((m.offset, m.key, m.value) for m in msgs)
    finally:
        c.close()
    return out


def read_kcat(bootstrap):
    r = harness.run(["kcat", "-b", bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning",
                     "-e", "-q", "-Z", "-f", "%o %k %s\\n"], timeout_s=60)
    out = []
    for line in r.stdout.decode().splitlines():
        off, key, value = line.split(" ", 2)
        out.append((int(off), key.encode(), value.encode()))
    return out


def read_kafkajs(bootstrap, end):
    node = harness.require_kafkajs()
    here = os.path.dirname(os.path.abspath(__file__))
    r = harness.run([node, os.path.join(here, "kafkajs_compacted.js"), bootstrap, TOPIC,
                     "kafkajs-compacted", str(end)], timeout_s=60)
    out = []
    for line in r.stdout.decode().splitlines():
        m = json.loads(line)
        out.append((int(m["offset"]), m["key"].encode(), m["value"].encode()))
    return out


SARAMA = "/usr/share/gocode/src/github.com/Shopify/sarama"
KAFKA_GO = "/usr/share/gocode/src/github.com/segmentio/kafka-go"


def build_go_readers(tmp):
    """Builds sarama_client (GOPATH mode), with the kafka-go reader when kafka-go is installed.
    Returns (executable or None, whether it has the kafka-go reader); says what is skipped."""
    go = shutil.which("go")
    if not go or not os.path.isdir(SARAMA):
        print(f"  SKIP sarama and kafka-go readers: need go and {SARAMA} (golang-go, "
              "golang-github-shopify-sarama-dev)", flush=True)
        return None, False
    kafka_go = os.path.isdir(KAFKA_GO)
    if not kafka_go:
        print(f"  SKIP kafka-go reader: {KAFKA_GO} missing "
              "(golang-github-segmentio-kafka-go-dev)", flush=True)
    gopath = os.path.join(tmp, "gopath")
    os.makedirs(gopath)
    exe = os.path.join(tmp, "sarama_client")
    here = os.path.dirname(os.path.abspath(__file__))
    tags = ["-tags", "kafkago"] if kafka_go else []
    harness.run([go, "build"] + tags + ["-o", exe, "."], timeout_s=180,
                env=harness.go_env(gopath), cwd=os.path.join(here, "sarama_client"))
    return exe, kafka_go


def read_go(exe, bootstrap, end, client):
    """{consumer name: [(offset, key, value)]}: one consumer per sarama version, or kafka-go's."""
    r = harness.run([exe, "-brokers", bootstrap, "-compacted", TOPIC, "-end", str(end),
                     "-client", client], timeout_s=90)
    out = collections.OrderedDict()
    for line in r.stdout.decode().splitlines():
        m = json.loads(line)
        out.setdefault(m["consumer"], []).append(
            (int(m["offset"]), m["key"].encode(), m["value"].encode()))
    return out


def check_compacted(name, got, written, last_round_from):
    """`written`: offset -> (key, value) as delivered. Checks `got` [(offset, key, value)]."""
    offsets = [o for o, _, _ in got]
    check(offsets == sorted(set(offsets)), f"{name}: offsets strictly increasing")
    check(all(written.get(o) == (k, v) for o, k, v in got),
          f"{name}: every record read was written at that offset with that key and value")
    check(len(got) < len(written) and any(b > a + 1 for a, b in zip([-1] + offsets, offsets)),
          f"{name}: {len(got)} of {len(written)} records, with offset gaps")
    latest = {}
    for o in sorted(written):
        latest[written[o][0]] = o
    check(all(o in offsets for o in latest.values()), f"{name}: the latest record of every key")
    check(all(o in offsets for o in written if o >= last_round_from),
          f"{name}: every record of the active segment")


def body(args):
    with tempfile.TemporaryDirectory(prefix="ferry-compat-compaction-") as tmp:
        step("build sarama_client (GOPATH mode)")
        go_exe, kafka_go = build_go_readers(tmp)
        run_clients(args, go_exe, kafka_go)


def run_clients(args, go_exe, kafka_go):
    with harness.Ferry(args.ferry, config_text=CONFIG) as ferry:
        b = ferry.bootstrap
        harness.admin_create_topic(b, TOPIC, 1, config={
            "cleanup.policy": "compact", "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01"})

        step(f"produce {KEYS} keys x {ROUNDS} rounds, one roll per round")
        written = {}
        last_round_from = 0
        for rnd in range(ROUNDS):
            msgs = [{"key": f"key-{k}".encode(), "value": f"r{rnd}-k{k}".encode()}
                    for k in range(KEYS)]
            parts = harness.produce_confluent(b, TOPIC, msgs)
            for off, key, value in parts[0]:
                written[off] = (key, value)
            if rnd == ROUNDS - 1:
                last_round_from = parts[0][0][0]
            time.sleep(0.15)  # segment.ms: the next round's first batch rolls the segment
        end = max(written) + 1

        step("wait for the cleaner")
        harness.wait_for(lambda: len(read_kcat(b)) < len(written), 30,
                         "the cleaner to compact the topic", interval_s=0.3)

        step("clients read the compacted log from offset 0")
        check_compacted("kcat", read_kcat(b), written, last_round_from)
        check_compacted("confluent-kafka", read_confluent(b, end), written, last_round_from)
        check_compacted("kafka-python", read_kafka_python(b, end), written, last_round_from)
        check_compacted("confluent-kafka group", read_confluent(b, end, group="g-compacted"),
                        written, last_round_from)
        check_compacted("kafkajs group", read_kafkajs(b, end), written, last_round_from)
        if go_exe:
            readers = read_go(go_exe, b, end, "sarama")
            check_eq(len(readers), 4, "sarama consumers that read the topic")
            if kafka_go:
                readers.update(read_go(go_exe, b, end, "kafka-go"))
                check_eq(len(readers), 5, "sarama consumers and kafka-go's Reader")
            for name, got in readers.items():
                check_compacted(name, got, written, last_round_from)

        step("a record without a key is refused")
        from confluent_kafka import Producer, KafkaError
        p = Producer({"bootstrap.servers": b, "acks": "all", "retries": 0})
        errs = []
        p.produce(TOPIC, value=b"no key", on_delivery=lambda err, msg: errs.append(err))
        check_eq(p.flush(15), 0, "null-key produce answered")
        check(errs and errs[0] is not None and errs[0].code() == 87,
              f"null-key produce refused with INVALID_RECORD (87): {errs[0] if errs else None}")


if __name__ == "__main__":
    harness.main("compacted topics read by real clients", body)
