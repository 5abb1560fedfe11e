# The workload of the fault harness: real Kafka clients, each a process of its own that writes
# its history as JSON lines (one event a line, flushed as it happens) for checker.py. Run by
# nemesis.py through start_client(); each client runs until SIGTERM, then finishes cleanly.
#
#   workload.py produce --bootstrap B --topic T --partitions N --id ID --out FILE
#                       [--acks all|1|0] [--idempotence 0|1] [--rate MSGS_PER_S]
#       confluent-kafka producer; values "ID.INSTANCE:PARTITION:SEQ" with SEQ counting from 0
#       per instance and partition, partitions in turn. Events: send, ack (with the offset),
#       fail (with the error), fatal (the instance is replaced by a new one: INSTANCE + 1).
#   workload.py consume --bootstrap B --topic T --group G --id ID --out FILE
#       confluent-kafka group member (subscribe, no auto commit, earliest): events assign,
#       revoke, seen (partition, offset, value), commit (offset committed for a partition, with
#       the times the synchronous commit started and ended, and its error if it failed).
#   workload.py observe --bootstrap B --topic T --partitions N --group G --out FILE
#       reads the group's committed offsets (OffsetFetch, no membership) twice a second:
#       events observed (partition, offset) whenever a value changes.
#   workload.py read --bootstrap B --topic T --partitions N --out FILE
#       the final read: every record of every partition from the log start to the high
#       watermark (assign, no group), then one `final` event with the watermarks.
#
# kafkajs_producer.js writes the same events as `produce` (acks -1, kafkajs).
#
# Values, partition choice and timing are deterministic given the options; what the broker does
# under faults is not, which is what the history records.
import argparse
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COMPAT_NODE_MODULES = os.path.join(os.path.dirname(HERE), "compat", "node_modules")


class History:
    """A JSON-lines event file, each line flushed when written."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, kind, **fields):
        fields["type"] = kind
        fields["t"] = round(time.time(), 4)
        self.f.write(json.dumps(fields, separators=(",", ":")) + "\n")

    def close(self):
        self.f.close()


_stop = False


def _on_term(_signo, _frame):
    global _stop
    _stop = True


def produce(a):
    from confluent_kafka import KafkaException, Producer
    h = History(a.out)
    instance = 0
    producer = None
    fatal = []

    def new_producer():
        conf = {"bootstrap.servers": a.bootstrap, "acks": a.acks,
                "enable.idempotence": a.idempotence == 1, "linger.ms": 5,
                "message.timeout.ms": a.message_timeout_ms, "request.timeout.ms": 5000,
                "socket.timeout.ms": 5000, "reconnect.backoff.max.ms": 1000,
                "retry.backoff.ms": 100, "topic.metadata.refresh.interval.ms": 2000,
                "error_cb": lambda err: on_error(err)}
        if a.idempotence != 1:
            conf["retries"] = a.retries
            conf["max.in.flight.requests.per.connection"] = 1
        return Producer(conf)

    def on_error(err):
        h.write("error", pid=f"{a.id}.{instance}", err=str(err), fatal=bool(err.fatal()))
        if err.fatal():
            fatal.append(err)

    def on_delivery(pid, p, seq):
        def cb(err, msg):
            if err is None:
                h.write("ack", pid=pid, p=p, seq=seq, o=msg.offset())
            else:
                h.write("fail", pid=pid, p=p, seq=seq, err=str(err))
        return cb

    producer = new_producer()
    seqs = {}
    i = 0
    interval = 1.0 / a.rate
    next_at = time.monotonic()
    while not _stop:
        if fatal:
            # The instance is unusable: whatever it had not acknowledged stays unknown.
            producer.purge()
            producer.flush(5)
            instance += 1
            fatal.clear()
            seqs = {}
            producer = new_producer()
        pid = f"{a.id}.{instance}"
        p = a.partition_list[i % len(a.partition_list)]
        i += 1
        seq = seqs.get(p, 0)
        seqs[p] = seq + 1
        value = f"{pid}:{p}:{seq}"
        h.write("send", pid=pid, p=p, seq=seq)
        while True:
            try:
                producer.produce(a.topic, value=value.encode(), key=pid.encode(), partition=p,
                                 on_delivery=on_delivery(pid, p, seq))
                break
            except BufferError:
                producer.poll(0.1)
            except KafkaException as e:
                h.write("fail", pid=pid, p=p, seq=seq, err=f"produce(): {e}")
                break
        producer.poll(0)
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            producer.poll(delay)
        else:
            next_at = time.monotonic()
    left = producer.flush(a.flush_timeout_s)
    h.write("closed", pid=f"{a.id}.{instance}", unflushed=left)
    h.close()


def consume(a):
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    h = History(a.out)
    pending = {}  # partition -> next offset to commit (last seen + 1), not committed yet

    def commit(parts):
        offsets = [TopicPartition(a.topic, p, pending[p]) for p in parts if p in pending]
        if not offsets:
            return
        t0 = time.time()
        try:
            result = c.commit(offsets=offsets, asynchronous=False)
            t1 = time.time()
            for tp in result:
                if tp.error:
                    h.write("commit", member=a.id, p=tp.partition, o=tp.offset, t0=t0, t1=t1,
                            err=str(tp.error))
                else:
                    h.write("commit", member=a.id, p=tp.partition, o=tp.offset, t0=t0, t1=t1)
                    if pending.get(tp.partition) == tp.offset:
                        del pending[tp.partition]
        except Exception as e:  # KafkaException: the commit's outcome is unknown
            h.write("commit", member=a.id, offsets={tp.partition: tp.offset for tp in offsets},
                    t0=t0, t1=time.time(), err=str(e))

    def on_assign(_c, parts):
        h.write("assign", member=a.id, parts=[tp.partition for tp in parts])

    def on_revoke(_c, parts):
        revoked = [tp.partition for tp in parts]
        commit(revoked)
        for p in revoked:
            pending.pop(p, None)
        h.write("revoke", member=a.id, parts=revoked)

    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                  "fetch.wait.max.ms": 200, "socket.timeout.ms": 5000,
                  "topic.metadata.refresh.interval.ms": 2000,
                  "error_cb": lambda err: h.write("error", member=a.id, err=str(err))})
    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    last_commit = time.monotonic()
    while not _stop:
        m = c.poll(0.2)
        if m is not None:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    h.write("error", member=a.id, err=str(m.error()))
            else:
                v = m.value()
                h.write("seen", member=a.id, p=m.partition(), o=m.offset(),
                        v=v.decode(errors="replace") if v is not None else None)
                pending[m.partition()] = m.offset() + 1
        if time.monotonic() - last_commit >= a.commit_interval_s:
            commit(sorted(pending))
            last_commit = time.monotonic()
    commit(sorted(pending))
    c.close()
    h.write("closed", member=a.id)
    h.close()


def observe(a):
    from confluent_kafka import Consumer, TopicPartition
    h = History(a.out)
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                  "enable.auto.commit": False, "socket.timeout.ms": 5000})
    last = {}
    parts = [TopicPartition(a.topic, p) for p in range(a.partitions)]
    while not _stop:
        t0 = time.time()
        try:
            got = c.committed(parts, timeout=5)
        except Exception as e:
            h.write("error", err=str(e))
            got = []
        for tp in got:
            if tp.error is None and tp.offset >= 0 and last.get(tp.partition) != tp.offset:
                last[tp.partition] = tp.offset
                h.write("observed", group=a.group, p=tp.partition, o=tp.offset, t0=t0)
        time.sleep(0.5)
    c.close()
    h.close()


def read(a):
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    h = History(a.out)
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "nemesis-final-read",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.wait.max.ms": 100})
    marks = {}
    for p in range(a.partitions):
        low, high = c.get_watermark_offsets(TopicPartition(a.topic, p), timeout=a.timeout_s)
        marks[p] = (low, high)
    c.assign([TopicPartition(a.topic, p, marks[p][0]) for p in range(a.partitions)])
    pos = {p: marks[p][0] for p in marks}
    deadline = time.monotonic() + a.timeout_s
    while any(pos[p] < marks[p][1] for p in marks) and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            if m is not None and m.error().code() == KafkaError._PARTITION_EOF:
                # The end: the log may end in offsets no record is returned for (a leader's
                # epoch-start batch), so the position is the EOF's, not the last record's + 1.
                pos[m.partition()] = max(pos[m.partition()], m.offset())
            elif m is not None:
                h.write("error", err=str(m.error()))
            continue
        v = m.value()
        h.write("record", p=m.partition(), o=m.offset(),
                v=v.decode(errors="replace") if v is not None else None)
        pos[m.partition()] = m.offset() + 1
    c.close()
    h.write("final", marks={p: list(marks[p]) for p in marks},
            complete=all(pos[p] >= marks[p][1] for p in marks))
    h.close()


def parse(argv):
    ap = argparse.ArgumentParser(description="fault-harness workload clients")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("produce", "consume", "observe", "read"):
        s = sub.add_parser(name)
        s.add_argument("--bootstrap", required=True)
        s.add_argument("--topic", required=True)
        s.add_argument("--out", required=True)
        if name in ("produce", "observe", "read"):
            s.add_argument("--partitions", type=int, required=True)
        if name in ("produce", "consume"):
            s.add_argument("--id", required=True)
        if name in ("consume", "observe"):
            s.add_argument("--group", required=True)
    p = sub.choices["produce"]
    p.add_argument("--acks", default="all", choices=("all", "1", "0", "-1"))
    p.add_argument("--idempotence", type=int, default=1, choices=(0, 1))
    p.add_argument("--rate", type=float, default=50.0, help="messages a second")
    p.add_argument("--retries", type=int, default=2147483647)
    p.add_argument("--message-timeout-ms", type=int, default=60000)
    p.add_argument("--flush-timeout-s", type=float, default=30.0)
    p.add_argument("--only-partitions", default="",
                   help="comma-separated partitions to write (default: all)")
    sub.choices["consume"].add_argument("--commit-interval-s", type=float, default=0.5)
    sub.choices["read"].add_argument("--timeout-s", type=float, default=60.0)
    a = ap.parse_args(argv)
    if a.cmd == "produce":
        a.partition_list = ([int(x) for x in a.only_partitions.split(",")]
                            if a.only_partitions else list(range(a.partitions)))
    return a


# ---- for the runner -----------------------------------------------------------------------------

def client_command(kind, **opts):
    """The argv of a workload client (kind: produce, consume, observe, read)."""
    cmd = [sys.executable, "-u", "-B", os.path.abspath(__file__), kind]
    for k, v in opts.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


def kafkajs_command(node, bootstrap, topic, partitions, pid, out, rate, idempotent=True):
    return [node, os.path.join(HERE, "kafkajs_producer.js"), bootstrap, topic, str(partitions),
            pid, out, str(rate), "1" if idempotent else "0"]


def kafkajs_env():
    env = dict(os.environ)
    env["NODE_PATH"] = COMPAT_NODE_MODULES
    return env


def kafkajs_installed():
    return os.path.isfile(os.path.join(COMPAT_NODE_MODULES, "kafkajs", "package.json"))


def main(argv):
    a = parse(argv)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    {"produce": produce, "consume": consume, "observe": observe, "read": read}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
