#!/usr/bin/python3
# One consumer-group member (confluent-kafka-python) for test_groups_confluent.py, run as its own
# process so that a test can stop it (SIGTERM: close() and exit 0) or kill it (SIGKILL). It
# subscribes to one topic with enable.auto.commit=false and, after writing every record of a
# batch to its output file, commits the batch's offsets synchronously. The output file is a log
# of what happened, one line per event, flushed at once:
#
#   assign 0,1          on_assign (the partitions now assigned; "-" for none)
#   revoke 0,1          on_revoke
#   lost 0,1            on_lost
#   rec P OFFSET VALUE  a record, written before its batch is committed
#   commit P:O,P:O      a successful synchronous commit (O = next offset to read)
#   commitfail ERROR    a failed commit
#   error ERROR         a consumer error
#   closed              close() returned (after SIGTERM)
#
#   groups_consumer.py BOOTSTRAP TOPIC GROUP OUT [--instance-id ID] [--session-timeout-ms N]
#
# Imported by the tests for the Member class, which starts and stops such a process.
import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parts(ps):
    return ",".join(str(p.partition) for p in sorted(ps, key=lambda p: p.partition)) or "-"


def consumer_main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("group")
    ap.add_argument("out")
    ap.add_argument("--instance-id")
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    a = ap.parse_args()

    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    out = open(a.out, "a", buffering=1)

    def emit(line):
        out.write(line + "\n")
        out.flush()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    conf = {"bootstrap.servers": a.bootstrap, "group.id": a.group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": a.session_timeout_ms, "heartbeat.interval.ms": a.heartbeat_ms,
            "fetch.wait.max.ms": 100, "partition.assignment.strategy": "range",
            "client.id": f"ferry-compat-{os.getpid()}"}
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    if os.environ.get("FERRY_COMPAT_DEBUG"):
        conf["debug"] = "cgrp,protocol"
    c = Consumer(conf)
    c.subscribe([a.topic],
                on_assign=lambda _c, ps: emit(f"assign {parts(ps)}"),
                on_revoke=lambda _c, ps: emit(f"revoke {parts(ps)}"),
                on_lost=lambda _c, ps: emit(f"lost {parts(ps)}"))
    while not stop:
        msgs = c.consume(num_messages=200, timeout=0.2)
        nxt = {}
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    emit(f"error {m.error()}")
                continue
            emit(f"rec {m.partition()} {m.offset()} {m.value().decode()}")
            nxt[m.partition()] = m.offset() + 1
        if nxt:
            tps = [TopicPartition(a.topic, p, o) for p, o in sorted(nxt.items())]
            try:
                c.commit(offsets=tps, asynchronous=False)
                emit("commit " + ",".join(f"{p}:{o}" for p, o in sorted(nxt.items())))
            except KafkaException as e:
                emit(f"commitfail {e}")
    c.close()
    emit("closed")
    out.close()
    return 0


class Member:
    """A groups_consumer.py process and the parsed contents of its output file."""

    def __init__(self, name, workdir, bootstrap, topic, group, instance_id=None,
                 session_timeout_ms=6000):
        self.name = name
        self.out = os.path.join(workdir, f"member-{name}.out")
        self.log = os.path.join(workdir, f"member-{name}.log")
        cmd = [sys.executable, "-u", "-B", os.path.join(HERE, "groups_consumer.py"), bootstrap,
               topic, group, self.out, "--session-timeout-ms", str(session_timeout_ms)]
        if instance_id:
            cmd += ["--instance-id", instance_id]
        self.cmd = cmd
        self.proc = None
        self.start()

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log)
        print(f"  member {self.name}: pid {self.proc.pid}", flush=True)

    def lines(self):
        try:
            with open(self.out) as f:
                return [ln.rstrip("\n") for ln in f if ln.endswith("\n")]
        except FileNotFoundError:
            return []

    def events(self, kind):
        return [ln.split(" ", 1)[1] if " " in ln else "" for ln in self.lines()
                if ln.split(" ", 1)[0] == kind]

    def assignment(self):
        """The partitions of the latest assign (minus a later revoke/lost), as a sorted list."""
        cur = []
        for ln in self.lines():
            kind, _, rest = ln.partition(" ")
            if kind == "assign":
                cur = [] if rest == "-" else [int(x) for x in rest.split(",")]
            elif kind in ("revoke", "lost"):
                cur = []
        return cur

    def records(self):
        """[(partition, offset, value)] in the order consumed."""
        out = []
        for ln in self.lines():
            if ln.startswith("rec "):
                _, p, o, v = ln.split(" ", 3)
                out.append((int(p), int(o), v))
        return out

    def committed(self):
        """{partition: next offset} from the last successful commit of each partition."""
        out = {}
        for rest in self.events("commit"):
            for item in rest.split(","):
                p, o = item.split(":")
                out[int(p)] = int(o)
        return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s=20):
        """SIGTERM: the member closes its consumer and must exit 0 within `timeout_s`."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed after SIGTERM timeout"

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        print(f"  member {self.name} killed with SIGKILL", flush=True)

    def dump(self, n=30):
        for path in (self.log, self.out):
            try:
                with open(path, errors="replace") as f:
                    tail = f.read().splitlines()[-n:]
            except FileNotFoundError:
                continue
            print(f"---- member {self.name}: last {len(tail)} lines of {path}", flush=True)
            for ln in tail:
                print(f"  | {ln}")


if __name__ == "__main__":
    sys.exit(consumer_main())
