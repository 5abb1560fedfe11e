#!/usr/bin/python3
# kafka-python 2.0.2 against ferry: KafkaAdminClient (create topics with configs, list, describe
# configs, delete), KafkaProducer with acks=1 and acks='all' and each codec whose Python module is
# installed, and KafkaConsumer without a group (assign + seek_to_beginning) reading back exactly
# what the producer's futures reported, per partition in order.
import time

import harness
from harness import check, check_eq, step, CheckFailed

N = 300
KEYS = 10
TIMEOUT_MS = 15000


def codecs():
    from kafka import codec
    have = {"gzip": codec.has_gzip(), "snappy": codec.has_snappy(), "lz4": codec.has_lz4(),
            "zstd": codec.has_zstd()}
    chosen = [None]
    for name, ok in have.items():
        if ok:
            chosen.append(name)
        else:
            print(f"  SKIP codec {name}: its Python module is not installed", flush=True)
    return chosen


def admin_part(b):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    import kafka.errors as Errors
    admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=TIMEOUT_MS,
                             client_id="ferry-compat")
    try:
        step("KafkaAdminClient.create_topics")
        r = admin.create_topics([NewTopic("kp-admin", 3, 1,
                                          topic_configs={"retention.ms": "3600000"})],
                                timeout_ms=TIMEOUT_MS)
        check_eq([tuple(e[:2]) for e in r.topic_errors], [("kp-admin", 0)],
                 f"CreateTopics v{r.API_VERSION}: kp-admin created without error")
        try:
            admin.create_topics([NewTopic("kp-admin", 3, 1)], timeout_ms=TIMEOUT_MS)
            raise CheckFailed("creating kp-admin twice succeeded")
        except Errors.TopicAlreadyExistsError:
            check(True, "second create_topics raises TopicAlreadyExistsError")

        step("list_topics / describe_topics")
        check("kp-admin" in admin.list_topics(), "list_topics includes kp-admin")
        (t,) = admin.describe_topics(["kp-admin"])
        check_eq((t["error_code"], sorted(p["partition"] for p in t["partitions"])), (0, [0, 1, 2]),
                 "describe_topics: kp-admin has partitions 0,1,2")

        step("describe_configs")
        (resp,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-admin")])
        (res,) = resp.resources
        check_eq((res[0], res[3]), (0, "kp-admin"),
                 f"DescribeConfigs v{resp.API_VERSION}: no error for kp-admin")
        entries = {e[0]: e for e in res[4]}
        check_eq(entries.get("retention.ms", (None, None))[1], "3600000",
                 "retention.ms = 3600000 as created")
        check_eq(entries.get("cleanup.policy", (None, None))[1], "delete",
                 "cleanup.policy = delete (default)")
        if resp.API_VERSION >= 1:
            # v1+: the 4th field is config_source (kafka-python names it is_default in v1).
            check_eq(entries["retention.ms"][3], 1, "retention.ms source DYNAMIC_TOPIC_CONFIG (1)")
            check(entries["cleanup.policy"][3] in (4, 5),
                  f"cleanup.policy source is a default ({entries['cleanup.policy'][3]})")
        else:
            check_eq((entries["retention.ms"][3], entries["cleanup.policy"][3]), (False, True),
                     "is_default: retention.ms no, cleanup.policy yes")

        step("create_partitions 3 -> 4")
        r = admin.create_partitions({"kp-admin": NewPartitions(4)}, timeout_ms=TIMEOUT_MS)
        check_eq([tuple(e[:2]) for e in r.topic_errors], [("kp-admin", 0)],
                 "CreatePartitions: no error")
        (t,) = admin.describe_topics(["kp-admin"])
        check_eq(sorted(p["partition"] for p in t["partitions"]), [0, 1, 2, 3],
                 "kp-admin has 4 partitions")

        step("delete_topics")
        r = admin.delete_topics(["kp-admin"], timeout_ms=TIMEOUT_MS)
        check_eq([tuple(e[:2]) for e in r.topic_error_codes], [("kp-admin", 0)],
                 f"DeleteTopics v{r.API_VERSION}: no error")
        harness.wait_for(lambda: "kp-admin" not in admin.list_topics(), 15,
                         "kp-admin to disappear")
        check(True, "kp-admin no longer listed")
    finally:
        admin.close()


def create_topic(b, name, partitions):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    admin = KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=TIMEOUT_MS)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=TIMEOUT_MS)
    finally:
        admin.close()


def produce(b, topic, acks, codec, n):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=b, acks=acks, compression_type=codec, linger_ms=5,
                      request_timeout_ms=TIMEOUT_MS, max_block_ms=TIMEOUT_MS)
    try:
        print(f"  producer api_version inferred as {p.config['api_version']}", flush=True)
        futures = []
        for i in range(n):
            key = f"k{i % KEYS}".encode()
            value = f"{topic}-{i:05d}-".encode() + b"z" * 60
            futures.append((key, value, p.send(topic, key=key, value=value,
                                               headers=[("n", str(i).encode())])))
        p.flush(timeout=30)
        sent = {}
        for key, value, f in futures:
            md = f.get(timeout=30)
            sent.setdefault(md.partition, []).append((md.offset, key, value))
    finally:
        p.close(timeout=10)
    check_eq(sum(len(v) for v in sent.values()), n, f"{topic}: {n} sends acknowledged")
    for part in sent:
        sent[part].sort()
        recs = sent[part]
        check_eq([o for o, _, _ in recs], list(range(len(recs))),
                 f"{topic}[{part}]: acknowledged offsets 0..{len(recs) - 1}")
        order = [int(v.split(b"-")[-2]) for _, _, v in recs]
        check_eq(order, sorted(order), f"{topic}[{part}]: offsets follow send order")
    return sent


def consume(b, topic, partitions, counts):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=b, group_id=None, enable_auto_commit=False,
                      fetch_max_wait_ms=100, request_timeout_ms=TIMEOUT_MS + 5000)
    got = {p: [] for p in range(partitions)}
    headers = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(got[p]) < counts.get(p, 0) for p in got):
            for tp, msgs in c.poll(timeout_ms=200).items():
                for m in msgs:
                    got[tp.partition].append((m.offset, m.key, m.value))
                    headers[(tp.partition, m.offset)] = m.headers
        ends = c.end_offsets(tps)
        check_eq({tp.partition: o for tp, o in ends.items()},
                 {p: counts.get(p, 0) for p in range(partitions)},
                 f"{topic}: end_offsets equal the acknowledged counts")
        begins = c.beginning_offsets(tps)
        check_eq(set(begins.values()), {0}, f"{topic}: beginning_offsets are 0")
    finally:
        c.close()
    return got, headers


def body(args):
    with harness.Ferry(args.ferry) as ferry:
        b = ferry.bootstrap
        admin_part(b)
        chosen = codecs()
        for acks in (1, "all"):
            for codec in chosen:
                topic = f"kp-acks{acks}-{codec or 'none'}"
                step(f"KafkaProducer acks={acks} compression={codec} -> {topic}")
                create_topic(b, topic, 3)
                sent = produce(b, topic, acks, codec, N)
                check_eq(sorted(sent), [0, 1, 2], f"{topic}: records in all 3 partitions")
                step(f"KafkaConsumer (no group) reads {topic}")
                got, headers = consume(b, topic, 3, {p: len(v) for p, v in sent.items()})
                harness.check_same_partitions(topic, got, sent)
                want_headers = {(p, o): [("n", str(int(v.split(b"-")[-2])).encode())]
                                for p, recs in sent.items() for o, _, v in recs}
                check_eq(headers, want_headers, f"{topic}: every record's header as sent")
        step("acks=0: fire and forget, then read back")
        topic = "kp-acks0"
        create_topic(b, topic, 1)
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=b, acks=0, linger_ms=5)
        try:
            for i in range(50):
                p.send(topic, key=b"k", value=f"a0-{i}".encode(), partition=0)
            p.flush(timeout=30)
        finally:
            p.close(timeout=10)
        got, _ = consume(b, topic, 1, {0: 50})
        check_eq([(o, v) for o, _, v in got[0]], [(i, f"a0-{i}".encode()) for i in range(50)],
                 f"{topic}[0]: the 50 acks=0 records, in order")


if __name__ == "__main__":
    harness.main("kafka-python against ferry", body)
