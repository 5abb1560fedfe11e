#!/usr/bin/python3
# ACLs seen from real clients, as User:ANONYMOUS (every plaintext client's principal).
#
# With the authorizer off, ACLs are created with kafka-python's KafkaAdminClient (CreateAcls;
# confluent-kafka 1.7.0 has no ACL calls) and with `ferry acls --add`; then ferry restarts with
# `authorizer.enabled = true` on the same data directory, so everything after shows the ACLs
# survived the restart. Then: a confluent-kafka producer allowed to write topic A but not B gets
# TOPIC_AUTHORIZATION_FAILED on B and nothing is stored in B; a consumer without READ on its
# group cannot join (GROUP_AUTHORIZATION_FAILED); a prefixed ALLOW covers a topic and a literal
# DENY on one of them overrides it; Metadata (AdminClient.list_topics) hides the topic nothing
# lets the client describe; describe_acls and delete_acls through the admin client, after which
# writing to A is denied too; `ferry acls --list` shows what is stored.
import subprocess
import time

import harness
from harness import CheckFailed, check, check_eq, step

TOPIC_A = "acl-a"
TOPIC_B = "acl-b"
PREFIXED_OK = "plant.line1"
PREFIXED_DENIED = "plant.secret"
HIDDEN = "acl-hidden"
ME = "User:ANONYMOUS"


def kafka_python_admin(bootstrap):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000,
                            client_id="acl-test")


def acl(resource_type, name, op, perm="ALLOW", pattern="LITERAL"):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePattern, ResourceType)
    return ACL(principal=ME, host="*", operation=getattr(ACLOperation, op),
               permission_type=getattr(ACLPermissionType, perm),
               resource_pattern=ResourcePattern(getattr(ResourceType, resource_type), name,
                                                getattr(ACLResourcePatternType, pattern)))


def any_filter(resource_type="ANY", name=None, op="ANY"):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePatternFilter, ResourceType)
    return ACLFilter(principal=None, host=None, operation=getattr(ACLOperation, op),
                     permission_type=ACLPermissionType.ANY,
                     resource_pattern=ResourcePatternFilter(getattr(ResourceType, resource_type),
                                                            name, ACLResourcePatternType.ANY))


def ferry_acls(ferry, *args):
    r = harness.run([ferry.binary, "acls", "--bootstrap", ferry.bootstrap, *args], timeout_s=30)
    return r.stdout.decode() if isinstance(r.stdout, bytes) else r.stdout


def produce_one(bootstrap, topic, timeout_s=15):
    """Produces one record; returns the delivery error (None when stored)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 10000,
                  "retries": 0})
    result = {}

    def on_delivery(err, msg):
        result["err"] = err

    p.produce(topic, b"v", on_delivery=on_delivery)
    deadline = time.monotonic() + timeout_s
    while "err" not in result and time.monotonic() < deadline:
        p.poll(0.1)
    check("err" in result, f"a delivery report for {topic} within {timeout_s}s")
    return result["err"]


def high_watermark(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-wm",
                  "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def body(args):
    from confluent_kafka import Consumer, KafkaError
    from confluent_kafka.admin import AdminClient
    with harness.Ferry(args.ferry, config_text="[broker]\nauthorizer.enabled = false\n") as ferry:
        step("topics and ACLs with the authorizer off")
        for t in (TOPIC_A, TOPIC_B, PREFIXED_OK, PREFIXED_DENIED, HIDDEN):
            harness.admin_create_topic(ferry.bootstrap, t, 1)
        admin = kafka_python_admin(ferry.bootstrap)
        created = admin.create_acls([
            acl("TOPIC", TOPIC_A, "WRITE"),
            acl("TOPIC", TOPIC_B, "DESCRIBE"),
            acl("TOPIC", "plant.", "ALL", pattern="PREFIXED"),
            acl("TOPIC", PREFIXED_DENIED, "WRITE", perm="DENY"),
            acl("CLUSTER", "kafka-cluster", "ALTER"),
            acl("CLUSTER", "kafka-cluster", "DESCRIBE"),
            acl("CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE"),
        ])
        check_eq(len(created["failed"]), 0, "CreateAcls failures")
        check_eq(len(created["succeeded"]), 7, "ACLs created with kafka-python")
        # ferry acls: READ and DESCRIBE on A for the consumer, and READ on one group only.
        out = ferry_acls(ferry, "--add", "--allow-principal", ME, "--operation", "Read",
                         "--operation", "Describe", "--topic", TOPIC_A)
        check(f"name={TOPIC_A}" in out and "operation=READ" in out,
              f"ferry acls --add printed what it added:\n{out}")
        ferry_acls(ferry, "--add", "--allow-principal", ME, "--operation", "Read", "--group",
                   "allowed-group")
        admin.close()

        step("restart with authorizer.enabled = true")
        with open(ferry.config_path, "w") as f:
            f.write("[broker]\nauthorizer.enabled = true\n")
        ferry.restart()

        step("describe_acls after the restart")
        admin = kafka_python_admin(ferry.bootstrap)
        acls, err = admin.describe_acls(any_filter())
        check(err is None or err.errno == 0, f"DescribeAcls error {err}")
        check_eq(len(acls), 10, "ACLs listed after the restart (7 + 2 + 1)")

        step("producer: allowed on A, TOPIC_AUTHORIZATION_FAILED on B, nothing stored in B")
        check_eq(produce_one(ferry.bootstrap, TOPIC_A), None, f"produce to {TOPIC_A}")
        err = produce_one(ferry.bootstrap, TOPIC_B)
        check(err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
              f"produce to {TOPIC_B} fails with TOPIC_AUTHORIZATION_FAILED (got {err})")
        check_eq(high_watermark(ferry.bootstrap, TOPIC_B), 0, f"records stored in {TOPIC_B}")
        check_eq(high_watermark(ferry.bootstrap, TOPIC_A), 1, f"records stored in {TOPIC_A}")

        step("prefixed ALLOW, and a literal DENY overriding it")
        check_eq(produce_one(ferry.bootstrap, PREFIXED_OK), None, f"produce to {PREFIXED_OK}")
        err = produce_one(ferry.bootstrap, PREFIXED_DENIED)
        check(err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
              f"produce to {PREFIXED_DENIED} denied by the DENY ACL (got {err})")

        step("Metadata hides the topic nothing lets us describe")
        md = AdminClient({"bootstrap.servers": ferry.bootstrap}).list_topics(timeout=15)
        listed = sorted(md.topics)
        check_eq(listed, sorted([TOPIC_A, TOPIC_B, PREFIXED_OK, PREFIXED_DENIED]),
                 "topics listed by Metadata")

        step("a consumer without READ on its group cannot join")
        c = Consumer({"bootstrap.servers": ferry.bootstrap, "group.id": "denied-group",
                      "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
        c.subscribe([TOPIC_A])
        denied = None
        deadline = time.monotonic() + 20
        while denied is None and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is not None:
                if m.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                    denied = m.error()
            elif m is not None:
                raise CheckFailed("the denied group's consumer received a record")
        c.close()
        check(denied is not None, "the consumer reported GROUP_AUTHORIZATION_FAILED")

        step("a consumer with READ on its group reads topic A")
        c = Consumer({"bootstrap.servers": ferry.bootstrap, "group.id": "allowed-group",
                      "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
        c.subscribe([TOPIC_A])
        got = None
        deadline = time.monotonic() + 30
        while got is None and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                got = m.value()
        c.close()
        check_eq(got, b"v", "record read by the allowed group")

        step("delete_acls: WRITE on A goes, and producing to A is denied")
        results = admin.delete_acls([any_filter("TOPIC", TOPIC_A, "WRITE")])
        deleted = sum(len(r[1]) for r in results)
        check_eq(deleted, 1, "ACLs deleted")
        err = produce_one(ferry.bootstrap, TOPIC_A)
        check(err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
              f"produce to {TOPIC_A} after its WRITE ACL was deleted (got {err})")
        admin.close()

        step("ferry acls --list")
        out = ferry_acls(ferry, "--list", "--topic", TOPIC_A)
        check("operation=READ" in out and "operation=WRITE" not in out,
              f"ferry acls --list --topic {TOPIC_A}:\n{out}")


if __name__ == "__main__":
    harness.main("ACLs with real clients", body)
