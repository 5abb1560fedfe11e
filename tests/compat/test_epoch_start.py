#!/usr/bin/python3
# Record-less epoch-start batches seen from real clients. A new leader's first batch in its epoch
# holds one offset and no records (v2, recordCount 0, attributes 0: not a control batch). The
# test writes such batches with epoch_start_writer (broker::Partition::append_epoch_start) into
# the partition directory while the broker is stopped, so the log holds one in the middle and
# one as its very last batch. Then, for each client in turn (with a fresh epoch-start batch at
# the end of the log for each): kcat (librdkafka), confluent-kafka with assign() and in a group
# with commits, kafka-python with assign() and in a group with commits, and a kafkajs group read
# the partition from offset 0. Each must
#   - get every record, with the offsets the producer was given (the empty batches' offsets are
#     gaps),
#   - then idle at the log end without looping (Fetch requests counted on /metrics stay at the
#     long-poll rate; librdkafka reports EOF at the log end, kafka-python's position is the log
#     end; kafkajs, which stays at the empty batch, asks for it about once per max wait), and
#   - get a record produced afterwards;
# a group's committed offset is then the log end. The epoch grows with each restart, so
# librdkafka sees a leader epoch change in Metadata as a new leader would cause.
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import harness
from harness import check, check_eq, step

TOPIC = "epochs"
IDLE_S = 1.0
# A client polling at the long-poll rate sends a handful of fetches a second (fetch.wait.max.ms
# 100-500); one that keeps fetching the empty batch gets it back at once and sends hundreds.
MAX_IDLE_FETCHES = 40

WRITER = None
# FERRY_EPOCH_CONTROL=1: the same batches with the control attribute, for comparison.
CONTROL = os.environ.get("FERRY_EPOCH_CONTROL") == "1"
# kafkajs 2.2.4 does not step over a record-less batch that ends the log: it fetches that
# offset again as soon as it has the answer, until a later batch arrives (then it goes on).
# Answered at once, that was 500-1,100 fetches a second; the broker now holds such a fetch for
# its max wait as at the log end (src/broker/handlers/fetch.cc), so kafkajs sends about one per
# max wait (KAFKAJS_MAX_WAIT_MS, kafkajs_epoch_start.js's maxWaitTimeInMs).
KAFKAJS_MAX_WAIT_MS = 100
KAFKAJS_MAX_IDLE_FETCHES = int(IDLE_S * 1000 / KAFKAJS_MAX_WAIT_MS * 1.5) + 2


def write_epoch_start(ferry, epoch):
    """Stops the broker, appends the epoch-start batch of `epoch`, starts it again; returns the
    batch's offset."""
    ferry.stop()
    r = harness.run([WRITER, os.path.join(ferry.data_dir, "logs", f"{TOPIC}-0"), str(epoch)] +
                    (["control"] if CONTROL else []))
    offset = int(r.stdout.decode().split()[0])
    ferry.fixed_port = True
    ferry.start()
    return offset


def fetch_requests(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^ferry_api_requests_total\{api="Fetch"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


class PythonReader:
    """Polls a client on a thread; `got` holds (offset, key, value) in arrival order."""

    def __init__(self, poll_once, close):
        self.got = []
        self.error = None
        self._poll_once = poll_once
        self._close = close
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                self.got.extend(self._poll_once())
        except Exception as e:  # reported by the test thread
            self.error = e

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        self._close()
        if self.error:
            raise harness.CheckFailed(f"reader failed: {self.error}")


def confluent_reader(bootstrap, group, eofs):
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    conf = {"bootstrap.servers": bootstrap, "group.id": group or "ferry-compat-unused",
            "enable.auto.commit": group is not None, "auto.commit.interval.ms": 100,
            "enable.partition.eof": True, "fetch.wait.max.ms": 100,
            "auto.offset.reset": "earliest"}
    c = Consumer(conf)
    if group:
        c.subscribe([TOPIC])
    else:
        c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])

    def poll_once():
        m = c.poll(0.1)
        if m is None:
            return []
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eofs.append(m.offset())
                return []
            raise harness.CheckFailed(f"consumer error: {m.error()}")
        return [(m.offset(), m.key().decode(), m.value().decode())]

    def close():
        if group:
            try:
                c.commit(asynchronous=False)
            except Exception as e:  # nothing stored since the last auto-commit
                if "_NO_OFFSET" not in str(e):
                    raise
        c.close()

    return PythonReader(poll_once, close), c


def kafka_python_reader(bootstrap, group, positions):
    from kafka import KafkaConsumer, TopicPartition
    tp = TopicPartition(TOPIC, 0)
    if group:
        c = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=group,
                          enable_auto_commit=True, auto_commit_interval_ms=100,
                          auto_offset_reset="earliest", fetch_max_wait_ms=100,
                          api_version_auto_timeout_ms=10000)
    else:
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                          fetch_max_wait_ms=100, api_version_auto_timeout_ms=10000)
        c.assign([tp])
        c.seek_to_beginning(tp)

    def poll_once():
        out = []
        for _, msgs in c.poll(timeout_ms=100).items():
            out.extend((m.offset, m.key.decode(), m.value.decode()) for m in msgs)
        if tp in c.assignment():
            positions.append(c.position(tp))
        return out

    def close():
        if group:
            c.commit()
        c.close()

    return PythonReader(poll_once, close), c


class ProcessReader:
    """A client process printing one record a line; `got` is re-read from its output file."""

    def __init__(self, cmd, parse, workdir, name):
        self.path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        self._out = open(self.path, "wb")
        self._err = open(self.err_path, "wb")
        print(f"  $ {' '.join(cmd)}", flush=True)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=os.path.dirname(__file__))
        self._parse = parse

    @property
    def got(self):
        with open(self.path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return [self._parse(line) for line in lines if line.strip()]

    def stop(self, wait_exit=False):
        if wait_exit:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self._err.close()
        return self.proc.returncode


def parse_kcat(line):
    off, key, value = line.split(" ", 2)
    return (int(off), key, value)


def parse_json(line):
    m = json.loads(line)
    return (int(m["offset"]), m["key"], m["value"])


def committed(bootstrap, group):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return c.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
    finally:
        c.close()


def body(args):
    node = harness.require_kafkajs()
    admin_port = harness.free_port()
    config = harness.GROUP_CONFIG + f'admin.listen = "127.0.0.1:{admin_port}"\n'
    with harness.Ferry(args.ferry, config_text=config) as ferry:
        b = ferry.bootstrap
        harness.admin_create_topic(b, TOPIC, 1)
        written = []  # (offset, key, value) as the producer was told

        def produce(keys):
            by_part = harness.produce_confluent(
                b, TOPIC, [{"key": k, "value": f"value-{k}"} for k in keys],
                conf={"linger.ms": 0})
            written.extend((o, k.decode(), v.decode()) for o, k, v in by_part[0])

        step("records, an epoch-start batch in the middle, more records")
        produce([f"k{i}".encode() for i in range(10)])
        check_eq(write_epoch_start(ferry, 1), 10, "epoch-start batch of epoch 1 at offset 10")
        produce([f"k{i}".encode() for i in range(10, 20)])
        check_eq([o for o, _, _ in written], list(range(10)) + list(range(11, 21)),
                 "records at 0-9 and 11-20 (10 is the empty batch)")

        clients = [c for c in [
            ("kcat", None),
            ("confluent-kafka assign", None),
            ("confluent-kafka group", "g-confluent"),
            ("kafka-python assign", None),
            ("kafka-python group", "g-kafka-python"),
            ("kafkajs group", "g-kafkajs"),
        ] if not os.environ.get("FERRY_EPOCH_CLIENTS") or
            c[0] in os.environ["FERRY_EPOCH_CLIENTS"].split(",")]
        epoch = 1
        for name, group in clients:
            epoch += 1
            step(f"{name}: the log ends with the epoch-start batch of epoch {epoch}")
            empty_at = write_epoch_start(ferry, epoch)
            end = empty_at + 1
            check_eq(written[-1][0] + 1, empty_at, "the empty batch is the last one")
            eofs, positions, handle = [], [], None
            if name == "kcat":
                reader = ProcessReader(["kcat", "-b", b, "-C", "-t", TOPIC, "-p", "0", "-o",
                                        "beginning", "-u", "-q", "-f", "%o %k %s\\n"],
                                       parse_kcat, ferry.workdir, f"kcat-{epoch}")
            elif name.startswith("confluent"):
                reader, handle = confluent_reader(b, group, eofs)
            elif name.startswith("kafka-python"):
                reader, handle = kafka_python_reader(b, group, positions)
            else:
                reader = ProcessReader([node, "kafkajs_epoch_start.js", b, TOPIC, group,
                                        str(len(written) + 1)], parse_json, ferry.workdir,
                                       f"kafkajs-{epoch}")
            try:
                harness.wait_for(lambda: len(reader.got) >= len(written), 60,
                                 f"{name} to read {len(written)} records")
                check_eq(reader.got, written, f"{name}: every record, same offsets, in order")
                before = fetch_requests(admin_port)
                time.sleep(IDLE_S)  # measuring a rate over a fixed time, not synchronising
                fetches = fetch_requests(admin_port) - before
                print(f"  {name}: {fetches} Fetch requests in {IDLE_S}s with the empty batch "
                      f"last", flush=True)
                if name.startswith("kafkajs"):
                    check(fetches <= KAFKAJS_MAX_IDLE_FETCHES,
                          f"{name}: at the trailing empty batch, {fetches} fetches in {IDLE_S}s "
                          f"(about one per {KAFKAJS_MAX_WAIT_MS} ms max wait; at most "
                          f"{KAFKAJS_MAX_IDLE_FETCHES})")
                else:
                    check(fetches <= MAX_IDLE_FETCHES,
                          f"{name}: idle at the log end, {fetches} fetches in {IDLE_S}s "
                          f"(at most {MAX_IDLE_FETCHES})")
                if name.startswith("confluent"):
                    harness.wait_for(lambda: end in eofs, 10, f"{name}: EOF at {end}")
                    check(end in eofs, f"{name}: end of partition reported at offset {end}")
                if name.startswith("kafka-python"):
                    harness.wait_for(lambda: positions and positions[-1] == end, 10,
                                     f"{name}: position {end}")
                    check_eq(positions[-1], end, f"{name}: position is the log end")
                if group and not name.startswith("kafkajs"):
                    # Auto-commit: librdkafka commits the offset after the last record (the
                    # empty batch's, which a restart steps over), kafka-python its position.
                    harness.wait_for(lambda: committed(b, group) in (empty_at, end), 15,
                                     f"{name}: committed offset {empty_at} or {end}",
                                     interval_s=0.2)
                    print(f"  {name} committed {committed(b, group)} (empty batch at "
                          f"{empty_at}, log end {end})", flush=True)
                produce([f"tail-{epoch}".encode()])
                check_eq(written[-1][0], end, "the next record follows the empty batch")
                harness.wait_for(lambda: len(reader.got) >= len(written), 30,
                                 f"{name} to get the record produced afterwards")
                check_eq(reader.got, written, f"{name}: and the record produced afterwards")
            except BaseException:
                reader.stop()
                raise
            if isinstance(reader, ProcessReader):
                rc = reader.stop(wait_exit=name.startswith("kafkajs"))
                if name.startswith("kafkajs"):
                    with open(reader.err_path, "rb") as f:
                        sys.stdout.write(f.read().decode(errors="replace"))
                    check_eq(rc, 0, f"{name}: exited cleanly")
            else:
                reader.stop()
            if group:
                check_eq(committed(b, group), written[-1][0] + 1,
                         f"{name}: committed offset is the log end")


if __name__ == "__main__":
    if "--writer" in sys.argv:
        i = sys.argv.index("--writer")
        WRITER = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    if not WRITER or not os.access(WRITER, os.X_OK):
        print("usage: test_epoch_start.py --ferry FERRY --writer EPOCH_START_WRITER", flush=True)
        sys.exit(2)
    harness.main("record-less epoch-start batches against real clients", body)
