#!/usr/bin/python3
# One consumer-group member (kafka-python 2.0.2) for test_groups_kafka_python.py, run as its own
# process so that the test can stop it (SIGTERM: close() and exit 0) or kill it (SIGKILL). It
# subscribes to one topic (KafkaConsumer with enable_auto_commit=False, the default range
# assignor, session_timeout_ms=6000, heartbeat_interval_ms=1000, auto_offset_reset='earliest')
# and, after writing every record of a poll() batch to its output file, commits the batch's
# offsets synchronously. The output file has the format of groups_consumer.py's (one event a
# line, flushed at once: assign/revoke P,P; rec P OFFSET VALUE; commit P:O,...; commitfail E;
# error E; closed), so the test reads it with the same Member methods.
#
#   groups_consumer_kafka_python.py BOOTSTRAP TOPIC GROUP OUT [--session-timeout-ms N]
#
# Imported by the test for KpMember, which starts and stops such a process.
import argparse
import os
import signal
import sys

from groups_consumer import Member

HERE = os.path.dirname(os.path.abspath(__file__))


def parts(tps):
    return ",".join(str(p) for p in sorted(tp.partition for tp in tps)) or "-"


def consumer_main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("group")
    ap.add_argument("out")
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    a = ap.parse_args()

    from kafka import KafkaConsumer, TopicPartition, OffsetAndMetadata
    from kafka.consumer.subscription_state import ConsumerRebalanceListener

    out = open(a.out, "a", buffering=1)

    def emit(line):
        out.write(line + "\n")
        out.flush()

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit(f"revoke {parts(revoked)}")

        def on_partitions_assigned(self, assigned):
            emit(f"assign {parts(assigned)}")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    c = KafkaConsumer(bootstrap_servers=a.bootstrap, group_id=a.group,
                      client_id=f"ferry-compat-kp-{os.getpid()}",
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      session_timeout_ms=a.session_timeout_ms,
                      heartbeat_interval_ms=a.heartbeat_ms, fetch_max_wait_ms=100)
    c.subscribe([a.topic], listener=Listener())
    while not stop:
        try:
            batch = c.poll(timeout_ms=200)
        except Exception as e:
            emit(f"error {type(e).__name__}: {e}")
            continue
        nxt = {}
        for tp, recs in sorted(batch.items(), key=lambda kv: kv[0].partition):
            for r in recs:
                emit(f"rec {tp.partition} {r.offset} {r.value.decode()}")
                nxt[tp.partition] = r.offset + 1
        if nxt:
            try:
                c.commit({TopicPartition(a.topic, p): OffsetAndMetadata(o, None)
                          for p, o in nxt.items()})
                emit("commit " + ",".join(f"{p}:{o}" for p, o in sorted(nxt.items())))
            except Exception as e:
                emit(f"commitfail {type(e).__name__}: {e}")
    c.close()
    emit("closed")
    out.close()
    return 0


class KpMember(Member):
    """A groups_consumer_kafka_python.py process; parsing and stopping as groups_consumer.Member."""

    def __init__(self, name, workdir, bootstrap, topic, group, session_timeout_ms=6000):
        self.name = name
        self.out = os.path.join(workdir, f"member-{name}.out")
        self.log = os.path.join(workdir, f"member-{name}.log")
        self.cmd = [sys.executable, "-u", "-B",
                    os.path.join(HERE, "groups_consumer_kafka_python.py"), bootstrap, topic,
                    group, self.out, "--session-timeout-ms", str(session_timeout_ms)]
        self.proc = None
        self.start()


if __name__ == "__main__":
    sys.exit(consumer_main())
