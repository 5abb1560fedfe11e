#!/usr/bin/python3
# Real clients across a leader failover: a 3-node cluster (cluster.py), one topic of one
# partition with replication factor 3, and for each of kcat, confluent-kafka, kafka-python and
# kafkajs a producer writing numbered records "CLIENT:SEQ" and a group consumer reading them,
# all with their library's DEFAULT retry settings (acks=all; idempotence is each client's
# default: off for all four). While they run, the partition's leader is killed with SIGKILL,
# left down for a few seconds, and started again (leadership then moves back to it, its
# preferred replica: a second change of leader). Then the producers are stopped, the consumers
# wait to catch up, and a final read takes the log up to the high watermark.
#
# Asserts, per client:
#   - every acknowledged record is in the final log at the offset its acknowledgement gave, and
#     exactly once, except for clients that retry without idempotence (kcat, confluent-kafka,
#     kafkajs: a retried request may have been written already; their duplicates are counted
#     and printed); kafka-python (retries=0 by default) must have none;
#   - acknowledgements of records sent after the kill, and after the restart, came within
#     RECOVERY_S, and no RECOVERY_S passed without one from the first to the last (leadership
#     moving back to the restarted node included);
#   - the group consumer saw every acknowledged record (at least once: a consumer that rejoins
#     after its coordinator moved, or commits after processing, may read again; re-reads are
#     counted);
#   - no record in the log that nobody sent; each client's process exits 0 when stopped;
#   - no process is left (every process group started is gone).
# kcat: the producer reads stdin (each line a long key and the value, see KcatProducer); with
# -vv it prints one delivery report per message (partition and offset, or the failure) on
# stderr, without the message itself, so its acknowledgements are checked by offset: each
# reported offset must hold a kcat record, no two reports the same one. The consumer is
# `kcat -G` (a balanced group member) printing offset and value.
#
# Exit 0 pass, 1 fail, 77 when a client is missing (the others still run and are checked) or the
# ferry binary has no [cluster] support.
#
#   client_failover.py --ferry build/native/src/app/ferry [--keep]
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import cluster as clusterlib  # noqa: E402
import workload  # noqa: E402

TOPIC = "failover"
RECOVERY_S = 15.0
RATE = 20.0  # records a second per producer
CLIENTS = ("kcat", "confluent", "kafkapython", "kafkajs")
DUPLICATES_ALLOWED = {"kcat": True, "confluent": True, "kafkapython": False, "kafkajs": True}


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Proc:
    """A client process in its own process group (killed by the kernel if the test dies)."""

    def __init__(self, name, cmd, log_path, env=None, stdin=None, stderr=None):
        self.name = name
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(prefix + [str(c) for c in cmd], env=env, cwd=HERE,
                                     stdin=stdin or subprocess.DEVNULL, stdout=self.log,
                                     stderr=stderr or subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid
        clusterlib._live.add(self)

    def stop(self, timeout_s=40):
        """SIGTERM; the exit status, None if it had to be killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill_quietly()
            rc = None
        clusterlib._live.discard(self)
        return rc

    def kill_quietly(self):
        clusterlib.kill_quietly(self)


def group_gone(pgid):
    try:
        os.killpg(pgid, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False


class KcatProducer:
    """kcat -P fed numbered lines on stdin; its -vv delivery reports become ack / fail events
    (timestamped when read), in a history like the others'."""

    # kcat reads stdin in blocks of about a KiB: a short line would wait for the next ones. Each
    # line starts with a key of more than a KiB (-K '#': key, then the value), so kcat has the
    # line as soon as it is written.
    KEY = b"k" * 1100 + b"#"
    DELIVERED = re.compile(r"Message delivered to partition (-?\d+) \(offset (-?\d+)\)")

    def __init__(self, bootstrap, hist, prefix="kcat"):
        self.out = open(os.path.join(hist, "producer-kcat.jsonl"), "a", buffering=1)
        self.prefix = prefix
        self.p = Proc("kcat-produce", ["kcat", "-P", "-b", bootstrap, "-t", TOPIC, "-p", "0",
                                       "-K", "#", "-vv"], os.path.join(hist, "kcat-produce.log"),
                      stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.sent = 0
        self.stopping = False
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read_reports, daemon=True)
        self.writer = threading.Thread(target=self.feed, daemon=True)
        self.reader.start()
        self.writer.start()

    def write(self, kind, **fields):
        fields["type"] = kind
        fields["t"] = round(time.time(), 4)
        with self.lock:
            self.out.write(json.dumps(fields) + "\n")

    def read_reports(self):
        with open(os.path.join(os.path.dirname(self.out.name), "kcat-produce.err"), "w") as log:
            for raw in self.p.proc.stderr:
                line = raw.decode(errors="replace").rstrip()
                log.write(line + "\n")
                m = self.DELIVERED.search(line)
                if m:
                    self.write("ack", o=int(m.group(2)))
                elif "Delivery failed" in line:
                    self.write("fail", err=line)

    def feed(self):
        interval = 1.0 / RATE
        next_at = time.monotonic()
        try:
            while not self.stopping:
                self.p.proc.stdin.write(self.KEY + f"{self.prefix}:{self.sent}\n".encode())
                self.p.proc.stdin.flush()
                self.write("send", seq=self.sent)
                self.sent += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        except (BrokenPipeError, OSError) as e:
            self.write("error", err=f"stdin: {e}")

    def stop(self, timeout_s=40):
        self.stopping = True
        self.writer.join(timeout=5)
        try:
            self.p.proc.stdin.close()  # EOF: kcat waits for its outstanding deliveries, exits
        except OSError:
            pass
        try:
            rc = self.p.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.p.kill_quietly()
            rc = None
        clusterlib._live.discard(self.p)
        self.reader.join(timeout=5)
        self.write("closed", status=rc)
        return rc


class KcatConsumer:
    """kcat -C in a balanced consumer group (-G), offset and value a line, turned into seen
    events when read."""

    def __init__(self, bootstrap, hist):
        self.path = os.path.join(hist, "kcat-consume.out")
        self.p = Proc("kcat-consume", ["kcat", "-b", bootstrap, "-G", "failover-kcat", "-u",
                                       "-q", "-f", "%o %s\\n", "-X", "auto.offset.reset=earliest",
                                       TOPIC], self.path, stderr=open(
                                           os.path.join(hist, "kcat-consume.log"), "ab"))

    def stop(self, timeout_s=20):
        return self.p.stop(timeout_s)

    def events(self):
        out = []
        with open(self.path, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                o, _, v = line.partition(" ")
                if o.isdigit():
                    out.append({"type": "seen", "o": int(o), "v": v})
        return out


class Run:
    def __init__(self, a, clients):
        self.a = a
        self.clients = clients
        self.hist = os.path.join(a.workdir, "history")
        os.makedirs(self.hist, exist_ok=True)
        self.failures = []
        self.procs = {}  # name -> object with stop()
        self.pgids = []

    def fail(self, msg):
        say(f"FAIL: {msg}")
        self.failures.append(msg)

    def path(self, name):
        return os.path.join(self.hist, name)

    def events(self, client, role):
        if client == "kcat" and role == "consumer":
            return self.procs["kcat-consume"].events()
        p = self.path(f"{role}-{client}.jsonl")
        return checker.read_jsonl(p) if os.path.exists(p) else []

    def leader(self, admin):
        md = admin.list_topics(TOPIC, timeout=10)
        part = md.topics[TOPIC].partitions.get(0)
        return (part.leader, list(part.isrs)) if part else (-1, [])

    def start_clients(self, bs):
        env = workload.kafkajs_env()
        py = [sys.executable, "-u", "-B", os.path.join(HERE, "failover_client.py")]
        js = [self.a.node_bin, os.path.join(HERE, "kafkajs_failover.js")]
        for c in self.clients:
            if c == "kcat":
                self.procs["kcat-produce"] = KcatProducer(bs, self.hist)
                self.procs["kcat-consume"] = KcatConsumer(bs, self.hist)
            elif c in ("confluent", "kafkapython"):
                self.procs[f"{c}-produce"] = Proc(f"{c}-produce", py + [
                    f"{c}-produce", "--bootstrap", bs, "--topic", TOPIC, "--prefix", c,
                    "--rate", RATE, "--out", self.path(f"producer-{c}.jsonl")],
                    self.path(f"{c}-produce.log"))
                self.procs[f"{c}-consume"] = Proc(f"{c}-consume", py + [
                    f"{c}-consume", "--bootstrap", bs, "--topic", TOPIC, "--group",
                    f"failover-{c}", "--out", self.path(f"consumer-{c}.jsonl")],
                    self.path(f"{c}-consume.log"))
            elif c == "kafkajs":
                self.procs["kafkajs-produce"] = Proc("kafkajs-produce", js + [
                    "produce", bs, TOPIC, "kafkajs", self.path("producer-kafkajs.jsonl"), RATE],
                    self.path("kafkajs-produce.log"), env=env)
                self.procs["kafkajs-consume"] = Proc("kafkajs-consume", js + [
                    "consume", bs, TOPIC, "failover-kafkajs", self.path("consumer-kafkajs.jsonl")],
                    self.path("kafkajs-consume.log"), env=env)
        for p in self.procs.values():
            self.pgids.append((p.p if hasattr(p, "p") else p).pgid)

    def acks_after(self, client, t):
        """The acknowledgements of records sent after t (kcat, whose reports name no record:
        the reports after as many as it had been sent records by t)."""
        ev = self.events(client, "producer")
        if client == "kcat":
            before = sum(1 for e in ev if e["type"] == "send" and e["t"] <= t)
            return [e for e in ev if e["type"] == "ack"][before:]
        sent_after = {e["seq"] for e in ev if e["type"] == "send" and e["t"] > t}
        return [e for e in ev if e["type"] == "ack" and e["seq"] in sent_after]

    def max_ack_gap(self, client):
        """The longest time without an acknowledgement between the first and the last."""
        ts = sorted(e["t"] for e in self.events(client, "producer") if e["type"] == "ack")
        return round(max((b - a for a, b in zip(ts, ts[1:])), default=0.0), 2)

    def wait_acks(self, t, what, timeout_s):
        """Until every producer has an acknowledgement after t; records the delays."""
        deadline = time.monotonic() + timeout_s
        pending = set(self.clients)
        delays = {}
        while pending and time.monotonic() < deadline:
            for c in sorted(pending):
                got = self.acks_after(c, t)
                if got:
                    delays[c] = round(got[0]["t"] - t, 2)
                    pending.discard(c)
            self.check_running()
            time.sleep(0.1)
        say(f"acknowledgements after the {what}: {delays}"
            + (f"; none within {timeout_s}s from {sorted(pending)}" if pending else ""))
        for c in sorted(pending):
            self.fail(f"{c}: no acknowledgement within {timeout_s}s of the {what}")
        return delays

    def wait_consumed(self, timeout_s):
        """Until every consumer has seen every record its producer had acknowledged."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            missing = self.unseen()
            if not any(missing.values()):
                return
            time.sleep(0.3)
        say(f"consumers did not catch up within {timeout_s}s: "
            f"{ {c: len(m) for c, m in self.unseen().items()} } acknowledged records unseen")

    def acked_values(self, client):
        """{value: offset} of acknowledged records (kcat: offsets only, values None)."""
        if client == "kcat":
            return {}
        return {f"{client}:{e['seq']}": e["o"] for e in self.events(client, "producer")
                if e["type"] == "ack"}

    def unseen(self):
        out = {}
        for c in self.clients:
            seen = {e["v"] for e in self.events(c, "consumer") if e["type"] == "seen"}
            if c == "kcat":
                acked = {o for o in self.kcat_ack_offsets()}
                seen_o = {e["o"] for e in self.events(c, "consumer") if e["type"] == "seen"}
                out[c] = sorted(acked - seen_o)
            else:
                out[c] = sorted(set(self.acked_values(c)) - seen)
        return out

    def kcat_ack_offsets(self):
        return [e["o"] for e in self.events("kcat", "producer") if e["type"] == "ack"]

    def check_running(self):
        for name, p in self.procs.items():
            proc = p.p.proc if hasattr(p, "p") else p.proc
            if proc.poll() is not None and name not in self.dead:
                self.dead.add(name)
                self.fail(f"client {name} exited on its own with status {proc.returncode}")

    def final_read(self, bs, timeout_s=40):
        """{offset: value} of partition 0 up to the high watermark. The read ends at the
        partition-EOF event at the watermark: the log may end in a leader's epoch-start batch,
        an offset with no record a consumer would return."""
        from confluent_kafka import Consumer, KafkaError, TopicPartition
        c = Consumer({"bootstrap.servers": bs, "group.id": "failover-final-read",
                      "enable.auto.commit": False, "enable.partition.eof": True})
        log = {}
        try:
            low, high = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=20)
            c.assign([TopicPartition(TOPIC, 0, low)])
            deadline = time.monotonic() + timeout_s
            done = low >= high
            while not done and time.monotonic() < deadline:
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF and m.offset() >= high:
                        done = True
                    continue
                if m.offset() < high:
                    log[m.offset()] = m.value().decode(errors="replace")
        finally:
            c.close()
        with open(self.path("final.json"), "w") as f:
            json.dump({"low": low, "high": high, "log": log}, f)
        if not done:
            self.fail(f"final read did not reach the high watermark {high} in {timeout_s}s")
        say(f"final read: offsets {low}..{high}, {len(log)} records")
        return log

    def verify(self, log):
        """The log against the histories (log: {offset: value})."""
        by_value = {}
        for o, v in log.items():
            by_value.setdefault(v, []).append(o)
        prefixes = {f"{c}:" for c in CLIENTS}
        phantoms = [(o, v) for o, v in log.items() if not any(v.startswith(x) for x in prefixes)]
        if phantoms:
            self.fail(f"records nobody sent: {phantoms[:5]}")
        summary = {}
        for c in self.clients:
            ev = self.events(c, "producer")
            sends = sum(1 for e in ev if e["type"] == "send")
            fails = [e for e in ev if e["type"] == "fail"]
            s = {"sent": sends, "failed": len(fails)}
            in_log = {v: os_ for v, os_ in by_value.items() if v.startswith(f"{c}:")}
            s["in_log"] = len(in_log)
            dups = {v: os_ for v, os_ in in_log.items() if len(os_) > 1}
            s["duplicated"] = len(dups)
            if c == "kcat":
                offs = self.kcat_ack_offsets()
                s["acked"] = len(offs)
                if len(set(offs)) != len(offs):
                    self.fail("kcat: two delivery reports name the same offset")
                for o in offs:
                    if not str(log.get(o, "")).startswith("kcat:"):
                        self.fail(f"kcat: acknowledged offset {o} holds {log.get(o)!r}")
                        break
            else:
                acked = self.acked_values(c)
                s["acked"] = len(acked)
                lost = [v for v in acked if v not in by_value]
                moved = [(v, o, by_value[v]) for v, o in acked.items()
                         if v in by_value and o not in by_value[v]]
                if lost:
                    self.fail(f"{c}: {len(lost)} acknowledged records lost, first {lost[:5]}")
                if moved:
                    self.fail(f"{c}: {len(moved)} acknowledged records not at their offset, "
                              f"first {moved[:3]}")
            if dups and not DUPLICATES_ALLOWED[c]:
                self.fail(f"{c}: {len(dups)} records duplicated, first "
                          f"{sorted(dups.items())[:3]}")
            seen = [e for e in self.events(c, "consumer") if e["type"] == "seen"]
            s["max_ack_gap_s"] = self.max_ack_gap(c)
            if s["max_ack_gap_s"] > RECOVERY_S:
                self.fail(f"{c}: {s['max_ack_gap_s']}s without an acknowledgement")
            s["consumer_seen"] = len(seen)
            s["consumer_reread"] = len(seen) - len({e["o"] for e in seen})
            if s["acked"] < 3 * RATE:
                self.fail(f"{c}: only {s['acked']} acknowledged records")
            summary[c] = s
        for c, m in self.unseen().items():
            if m:
                self.fail(f"{c}: the consumer never saw {len(m)} acknowledged records "
                          f"(first {m[:5]})")
        return summary

    def run(self):
        from confluent_kafka.admin import AdminClient, NewTopic
        a = self.a
        self.dead = set()
        broker = ["auto.create.topics.enable = false", "group.initial.rebalance.delay.ms = 0",
                  "log.dir.min.free.bytes = 0"]
        with clusterlib.Cluster(a.ferry, 3, a.workdir, proxied=False,
                                broker_extra=broker) as cl:
            try:
                cl.start()
                bs = cl.bootstrap
                admin = AdminClient({"bootstrap.servers": bs})
                admin.create_topics([NewTopic(TOPIC, 1, 3)], operation_timeout=30)[TOPIC].result(
                    timeout=60)
                t0 = time.monotonic()
                while self.leader(admin)[0] < 0 and time.monotonic() - t0 < 20:
                    time.sleep(0.2)
                say(f"3 nodes at {bs}; topic {TOPIC}: leader, ISR {self.leader(admin)}")
                self.start_clients(bs)
                self.wait_acks(time.time() - 3600, "start (delays meaningless)", 40)
                time.sleep(3)
                if self.failures:
                    return
                leader, isr = self.leader(admin)
                node = cl.node(leader)
                say(f"kill -9 node {leader}, the leader (ISR {isr})")
                t_kill = time.time()
                node.kill9()
                kill_delays = self.wait_acks(t_kill, "kill", RECOVERY_S)
                time.sleep(2)
                say(f"after the kill: leader, ISR {self.leader(admin)}")
                t_restart = time.time()
                node.start()
                say(f"node {leader} restarted and ready in {time.time() - t_restart:.1f}s")
                restart_delays = self.wait_acks(t_restart, "restart", RECOVERY_S)
                time.sleep(4)
                say(f"after the restart: leader, ISR {self.leader(admin)}")
                for name, p in self.procs.items():
                    if name.endswith("-produce"):
                        rc = p.stop()
                        if rc != 0 and name not in self.dead:
                            self.fail(f"{name} exited with {rc} when stopped")
                self.wait_consumed(20)
                for name, p in self.procs.items():
                    if name.endswith("-consume"):
                        rc = p.stop(20)
                        if rc != 0 and name not in self.dead:
                            self.fail(f"{name} exited with {rc} when stopped")
                log = self.final_read(bs)
                summary = self.verify(log)
                for c, s in summary.items():
                    s["recovery_after_kill_s"] = kill_delays.get(c)
                    s["recovery_after_restart_s"] = restart_delays.get(c)
                    say(f"{c}: {json.dumps(s)}")
                for nid, rc in cl.stop().items():
                    if rc != 0:
                        self.fail(f"node {nid} exited {rc} on SIGTERM")
            finally:
                for p in self.procs.values():
                    (p.p if hasattr(p, "p") else p).kill_quietly()
        left = [pg for pg in self.pgids + [n.proc.pid for n in cl.nodes if n.proc]
                if not group_gone(pg)]
        if left:
            self.fail(f"process groups left: {left}")


def available(node_bin):
    have, why = [], {}
    for c in CLIENTS:
        if c == "kcat" and not shutil.which("kcat"):
            why[c] = "kcat not on PATH"
        elif c == "kafkapython":
            try:
                import kafka  # noqa: F401
            except ImportError:
                why[c] = "python3 module kafka (kafka-python) missing"
        elif c == "kafkajs" and not (node_bin and workload.kafkajs_installed()):
            why[c] = ("node or tests/compat/node_modules/kafkajs missing "
                      "(npm ci --prefix tests/compat)")
        if c not in why:
            have.append(c)
    return have, why


def main(argv):
    ap = argparse.ArgumentParser(description="real clients across a leader failover")
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN"))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    own, skip = clusterlib.prepare_run(ap, a, "ferry-failover-", say)
    if skip is not None:
        return skip
    a.node_bin = shutil.which("node")
    clients, missing = available(a.node_bin)
    clients = [c for c in clients if c in a.clients.split(",")]
    for c, w in missing.items():
        say(f"client {c} left out: {w}")
    run = Run(a, clients)
    started = time.monotonic()
    try:
        run.run()
    except Exception as e:
        run.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        failed = bool(run.failures)
        if failed or a.keep:
            say(f"work directory kept: {a.workdir}")
        elif own:
            shutil.rmtree(a.workdir, ignore_errors=True)
        say(f"{'FAIL' if failed else 'PASS'} client_failover ({', '.join(clients)}) in "
            f"{time.monotonic() - started:.1f}s")
    if failed:
        return 1
    return 77 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
