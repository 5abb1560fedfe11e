#!/usr/bin/python3
# The fault-injection runner: starts a ferry cluster (cluster.py; one node, or N with [cluster]),
# runs the workload throughout (workload.py producers and group consumers, a kafkajs producer,
# an observer of the group's commits), applies a seeded random schedule of faults, heals, reads
# everything back, stops the nodes and runs checker.py on the histories. Exit 0 when the
# checker (and the runner's own checks) found nothing, 1 otherwise, 77 when the run cannot be
# made here (a cluster without [cluster] support).
#
#   nemesis.py --ferry build/native/src/app/ferry --nodes 1 --rounds 6 --seconds 10 \
#       --faults kill,pause,restart,partition [--seed S] [--keep]
#
# Faults (one per round: each listed fault once in every len(faults) rounds, in an order, target
# node and parameters drawn from the seed; each held for part of the round, then healed; the rest
# of the round is quiet):
#   kill       SIGKILL, down for up to 2 s, started again on the same data directory
#   killleader (clusters) the same, of the node leading the most partitions of the topic (as
#              Metadata names them at that moment)
#   pause      SIGSTOP for 1-8 s, then SIGCONT
#   restart    SIGTERM (exit 0 expected) and start
#   partition  one node: the clients' link through its proxy dropped or blackholed; a cluster:
#              a node isolated, or the links between a minority and a majority cut or stalled,
#              or what one node sends to another lost (one way)
#   wipe       (clusters only) SIGKILL, the data directory deleted, started empty: the node
#              must catch up from the others
#   diskfull   the node's data directory is a small tmpfs (needs root; otherwise the fault is
#              left out with a note), filled with a ballast file, then freed
# --force-loss (the checker's mutation test) cuts the newest batches off every partition's last
# segment between a kill and the restart; with --expect-anomalies lost the run passes only if
# the checker reports the loss. --force-meta-rollback puts back, at every kill after the first,
# the meta.db saved at the first (committed offsets go back in time: commit-backwards).
#
# Everything is under --workdir (default: a new temporary directory): node directories and
# logs, history/ (the JSON-lines histories, schedule.jsonl, checker.json). Kept on failure or
# with --keep.
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import cluster as clusterlib  # noqa: E402
import logfiles  # noqa: E402
import workload  # noqa: E402

TOPIC = "nemesis"
GROUP = "nemesis-group"
FAULTS = ("kill", "killleader", "pause", "restart", "partition", "diskfull", "wipe")


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Client:
    """A workload client process (its own process group, killed if the runner dies)."""

    def __init__(self, name, cmd, log_path, env=None):
        self.name = name
        self.proc = clusterlib.spawn(cmd, log_path, env=env, cwd=HERE)
        self.log_path = log_path
        clusterlib._live.add(self)

    def stop(self, timeout_s):
        """SIGTERM, then SIGKILL after timeout_s; returns the exit status (None if killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                say(f"client {self.name} did not finish within {timeout_s}s of SIGTERM: killed")
                self.kill_quietly()
                return None
        clusterlib._live.discard(self)
        return self.proc.returncode

    def kill_quietly(self):
        clusterlib.kill_quietly(self)

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  {self.name} | {line}" for line in lines[-n:])


class DiskFull:
    """Each node's data directory on its own small tmpfs, and a ballast file to fill it."""

    SIZE = 64 << 20

    def __init__(self):
        self.mounts = []

    def mount(self, node):
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.SIZE}", "ferry-nemesis",
                            node.data_dir], capture_output=True, timeout=30)
        if r.returncode != 0:
            return r.stderr.decode(errors="replace").strip() or "mount failed"
        self.mounts.append(node.data_dir)
        return None

    def ballast(self, node):
        return os.path.join(node.data_dir, "nemesis.ballast")

    def fill(self, node):
        """Writes zeros until the file system is full; returns the bytes written."""
        n = 0
        chunk = b"\0" * (1 << 20)
        try:
            with open(self.ballast(node), "wb") as f:
                while True:
                    f.write(chunk)
                    f.flush()
                    n += len(chunk)
        except OSError:
            pass
        return n

    def free(self, node):
        try:
            os.unlink(self.ballast(node))
        except FileNotFoundError:
            pass

    def unmount_all(self):
        for m in self.mounts:
            subprocess.run(["umount", "-l", m], capture_output=True, timeout=30)
        self.mounts = []


class Runner:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.workdir = a.workdir
        self.hist = os.path.join(self.workdir, "history")
        os.makedirs(self.hist, exist_ok=True)
        self.schedule = open(os.path.join(self.hist, "schedule.jsonl"), "a", buffering=1)
        self.problems = []  # the runner's own findings (unclean stops, failed clients)
        self.clients = {}
        self.disk = DiskFull() if "diskfull" in a.faults else None
        self.cluster = None

    def log_event(self, e):
        self.schedule.write(json.dumps(e) + "\n")

    def problem(self, kind, **detail):
        detail["kind"] = kind
        say(f"PROBLEM {kind}: {detail}")
        self.problems.append(detail)

    # ---- set-up -------------------------------------------------------------------------------

    def make_cluster(self):
        a = self.a
        broker = ["auto.create.topics.enable = false", "group.initial.rebalance.delay.ms = 0"]
        broker.append("log.dir.min.free.bytes = 4194304" if self.disk else
                      "log.dir.min.free.bytes = 0")
        self.cluster = clusterlib.Cluster(a.ferry, a.nodes, self.workdir, proxied=True,
                                          broker_extra=broker, log_level=a.log_level,
                                          events=self.log_event)
        if self.disk:
            for node in self.cluster.nodes:
                err = self.disk.mount(node)
                if err:
                    say(f"diskfull: left out: cannot mount a tmpfs ({err}); needs root")
                    a.faults = [f for f in a.faults if f != "diskfull"]
                    self.disk.unmount_all()
                    self.disk = None
                    # The threshold of a real disk again.
                    self.cluster.broker_extra[-1] = "log.dir.min.free.bytes = 0"
                    break
        return self.cluster

    def create_topic(self):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap})
        fs = admin.create_topics([NewTopic(TOPIC, num_partitions=self.a.partitions,
                                           replication_factor=self.a.nodes)],
                                 operation_timeout=30, request_timeout=30)
        fs[TOPIC].result(timeout=60)
        say(f"topic {TOPIC}: {self.a.partitions} partitions, replication factor {self.a.nodes}")

    def start_workload(self):
        a, bs = self.a, self.cluster.bootstrap
        h = self.hist

        def start(name, cmd, env=None):
            self.clients[name] = Client(name, cmd, os.path.join(h, f"{name}.log"), env)

        start("observer", workload.client_command(
            "observe", bootstrap=bs, topic=TOPIC, partitions=a.partitions, group=GROUP,
            out=os.path.join(h, "observer-g.jsonl")))
        for i in range(a.consumers):
            start(f"consumer-{i}", workload.client_command(
                "consume", bootstrap=bs, topic=TOPIC, group=GROUP, id=f"c{i}",
                out=os.path.join(h, f"consumer-c{i}.jsonl")))
        for i in range(a.producers):
            start(f"producer-p{i}", workload.client_command(
                "produce", bootstrap=bs, topic=TOPIC, partitions=a.partitions, id=f"p{i}",
                out=os.path.join(h, f"producer-p{i}.jsonl"), acks=a.producer_acks,
                idempotence=a.idempotence, rate=a.rate))
        if a.kafkajs:
            start("producer-kj", workload.kafkajs_command(
                a.node_bin, bs, TOPIC, a.partitions, "kj", os.path.join(h, "producer-kj.jsonl"),
                a.rate, idempotent=a.idempotence == 1), env=workload.kafkajs_env())

    def acked(self):
        n = 0
        for name in os.listdir(self.hist):
            if name.startswith("producer-") and name.endswith(".jsonl"):
                n += sum(1 for e in checker.read_jsonl(os.path.join(self.hist, name))
                         if e.get("type") == "ack")
        return n

    def wait_workload(self, timeout_s=60):
        """Until every producer has an acknowledgement (the workload is flowing)."""
        deadline = time.monotonic() + timeout_s
        want = [os.path.join(self.hist, f"{n}.jsonl") for n in self.clients
                if n.startswith("producer-")]
        while time.monotonic() < deadline:
            if all(os.path.exists(w) and any(e.get("type") == "ack" for e in
                                             checker.read_jsonl(w)) for w in want):
                return
            for name, c in self.clients.items():
                if c.proc.poll() is not None:
                    raise RuntimeError(f"client {name} exited ({c.proc.returncode}) at start\n"
                                       + c.log_tail())
            time.sleep(0.2)
        raise RuntimeError("the workload did not get its first acknowledgements within "
                           f"{timeout_s}s")

    # ---- faults -------------------------------------------------------------------------------

    def sleep(self, s):
        time.sleep(max(0.0, s))

    def run_round(self, i):
        a, rng, cl = self.a, self.rng, self.cluster
        if i % len(a.faults) == 0:  # every fault once per len(faults) rounds, in seeded order
            self.order = rng.sample(a.faults, len(a.faults))
        fault = self.order[i % len(a.faults)]
        node = rng.choice(cl.nodes)
        start = time.monotonic()
        lead = rng.uniform(0, a.seconds * 0.2)
        # Up to 8 s: longer than the consumers' 6 s session timeout, so stalls also expire
        # group members that then come back (their commits must be fenced).
        hold = rng.uniform(1.0, max(1.0, min(8.0, a.seconds * 0.8)))
        self.sleep(lead)
        if fault == "killleader":
            node = self.busiest_leader() or node
        detail = {"round": i, "fault": fault, "node": node.id}
        if fault in ("kill", "killleader"):
            down = rng.uniform(0.0, 2.0)
            detail["down_s"] = round(down, 2)
            say(f"round {i}: kill -9 node {node.id}"
                f"{' (the busiest leader)' if fault == 'killleader' else ''}, down {down:.1f}s")
            cl.event("fault", **detail)
            node.kill9()
            if a.force_loss:
                self.force_loss(node)
            if a.force_meta_rollback:
                self.meta_rollback(node)
            self.sleep(down)
            node.start()
        elif fault == "wipe":
            say(f"round {i}: kill -9 node {node.id} and wipe its data directory")
            cl.event("fault", **detail)
            node.kill9()
            node.wipe()
            node.start()
        elif fault == "pause":
            detail["hold_s"] = round(hold, 2)
            say(f"round {i}: SIGSTOP node {node.id} for {detail['hold_s']}s")
            cl.event("fault", **detail)
            node.pause()
            self.sleep(detail["hold_s"])
            node.resume()
        elif fault == "restart":
            say(f"round {i}: SIGTERM and restart node {node.id}")
            cl.event("fault", **detail)
            rc = node.stop()
            if rc != 0:
                self.problem("unclean-stop", node=node.id, status=rc, round=i)
            node.start()
        elif fault == "partition":
            self.partition(detail, node, hold)
        elif fault == "diskfull":
            detail["hold_s"] = round(hold, 2)
            say(f"round {i}: disk of node {node.id} full for {hold:.1f}s")
            cl.event("fault", **detail)
            filled = self.disk.fill(node)
            say(f"  ballast of {filled >> 20} MiB")
            self.sleep(hold)
            self.disk.free(node)
        self.check_alive(i)
        cl.event("healed", round=i)
        self.sleep(a.seconds - (time.monotonic() - start))

    def busiest_leader(self):
        """The running node leading the most partitions of the topic, or None."""
        from confluent_kafka.admin import AdminClient
        try:
            md = AdminClient({"bootstrap.servers": self.cluster.bootstrap}).list_topics(
                TOPIC, timeout=5)
        except Exception as e:  # noqa: BLE001 - any client failure: fall back to the drawn node
            say(f"  no metadata for the leaders ({e}); the drawn node instead")
            return None
        counts = {}
        for p in md.topics[TOPIC].partitions.values():
            if p.leader >= 1:
                counts[p.leader] = counts.get(p.leader, 0) + 1
        running = {n.id: n for n in self.cluster.nodes if n.running()}
        best = sorted((c, i) for i, c in counts.items() if i in running)
        return running[best[-1][1]] if best else None

    def partition(self, detail, node, hold):
        rng, cl = self.rng, self.cluster
        mode = rng.choice(("drop", "blackhole"))
        detail.update(mode=mode, hold_s=round(hold, 2))
        if len(cl.nodes) == 1:
            detail["what"] = "clients"
            touched = cl.net.isolate(node.id, mode)
        else:
            what = rng.choice(("isolate", "split", "one-way"))
            detail["what"] = what
            if what == "isolate":
                touched = cl.net.isolate(node.id, mode, clients=rng.random() < 0.5)
            elif what == "split":
                minority = {node.id}
                majority = {n.id for n in cl.nodes} - minority
                detail["groups"] = [sorted(minority), sorted(majority)]
                touched = cl.net.partition([minority, majority], mode)
            else:
                other = rng.choice([n for n in cl.nodes if n is not node])
                detail["link"] = [node.id, other.id]
                detail["mode"] = "blackhole"
                touched = cl.net.one_way(node.id, other.id)
        say(f"round {self.current_round}: partition {detail} ({len(touched)} proxies)")
        cl.event("fault", **detail)
        self.sleep(hold)
        cl.net.heal()

    def force_loss(self, node):
        """The mutation: the newest batches of each partition cut off while the node is down."""
        for (topic, p), d in sorted(logfiles.partition_dirs(node.data_dir).items()):
            if topic != TOPIC:
                continue
            cut = logfiles.truncate_tail(d, batches=self.a.force_loss)
            if cut:
                say(f"  forced loss: node {node.id} {topic}-{p} lost offsets "
                    f"{cut[0][0]}..{cut[-1][1]}")
                self.cluster.event("forced-loss", node=node.id, p=p, cut=cut)

    def meta_rollback(self, node):
        """The commit mutation: meta.db (committed offsets among the rest) saved at the first
        kill and put back at every later one, so the group's offsets go back in time."""
        saved = os.path.join(self.workdir, f"meta-node{node.id}")
        names = ["meta.db", "meta.db-wal"]
        if not os.path.isdir(saved):
            os.makedirs(saved)
            for n in names:
                if os.path.exists(os.path.join(node.data_dir, n)):
                    shutil.copy2(os.path.join(node.data_dir, n), saved)
            say(f"  meta.db of node {node.id} saved")
            return
        for n in names + ["meta.db-shm"]:
            if os.path.exists(os.path.join(node.data_dir, n)):
                os.unlink(os.path.join(node.data_dir, n))
        for n in os.listdir(saved):
            shutil.copy2(os.path.join(saved, n), node.data_dir)
        say(f"  meta.db of node {node.id} rolled back to the saved copy")
        self.cluster.event("forced-meta-rollback", node=node.id)

    def check_alive(self, round_i):
        for node in self.cluster.nodes:
            if not node.running():
                self.problem("node-died", node=node.id, round=round_i,
                             status=node.proc.returncode if node.proc else None)
                node.start()
        for name, c in self.clients.items():
            if c.proc.poll() is not None and name not in self.dead_clients:
                self.dead_clients.add(name)
                self.problem("client-exited", client=name, status=c.proc.returncode,
                             log=c.log_tail(5))

    # ---- the end ------------------------------------------------------------------------------

    def heal(self):
        cl = self.cluster
        cl.net.heal()
        for node in cl.nodes:
            if node.paused:
                node.resume()
            if not node.running():
                node.start()
        if self.disk:
            for node in cl.nodes:
                self.disk.free(node)
        for node in cl.nodes:
            node.wait_ready()
        cl.event("heal-all")

    def end_offsets(self):
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.cluster.bootstrap, "group.id": "nemesis-marks"})
        try:
            return {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1]
                    for p in range(self.a.partitions)}
        finally:
            c.close()

    def observed_commits(self):
        out = {}
        path = os.path.join(self.hist, "observer-g.jsonl")
        if os.path.exists(path):
            for e in checker.read_jsonl(path):
                if e.get("type") == "observed":
                    out[e["p"]] = e["o"]
        return out

    def drain(self, timeout_s):
        """Waits until the group's committed offsets reach the log ends; True if they did."""
        ends = self.end_offsets()
        say(f"log end offsets {ends}; waiting for the group to commit up to them")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.observed_commits()
            if all(got.get(p, 0) >= ends[p] for p in ends):
                say(f"group caught up: committed {got}")
                return True
            time.sleep(0.5)
        say(f"group did not catch up within {timeout_s}s: committed {self.observed_commits()}")
        return False

    def final_read(self):
        out = os.path.join(self.hist, "final.jsonl")
        if os.path.exists(out):
            os.unlink(out)
        cmd = workload.client_command("read", bootstrap=self.cluster.bootstrap, topic=TOPIC,
                                      partitions=self.a.partitions, out=out, timeout_s=60)
        c = Client("final-read", cmd, os.path.join(self.hist, "final-read.log"))
        try:
            c.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            c.kill_quietly()
            self.problem("final-read-timeout")
        if c.proc.returncode not in (0, None):
            self.problem("final-read-failed", status=c.proc.returncode, log=c.log_tail(10))

    def compare_disk(self, marks):
        """Each node's log files after a clean stop: records below the high watermark equal the
        final read (one node: a check of what was served against the files; a cluster: the
        replicas' bytes go to replicas.json for the checker)."""
        final = checker.load_dir(self.hist).final
        replicas = {}
        for node in self.cluster.nodes:
            dirs = logfiles.partition_dirs(node.data_dir)
            for p in range(self.a.partitions):
                d = dirs.get((TOPIC, p))
                high = marks.get(p, (0, 0))[1]
                batches = [b for b in logfiles.read_batches(d) if b.last_offset < high] if d else []
                replicas.setdefault(p, {})[node.id] = [b.data.hex() for b in batches]
                on_disk = {}
                try:
                    for b in batches:
                        for o, _k, v in logfiles.records(b):
                            on_disk[o] = v.decode(errors="replace") if v is not None else None
                except (ValueError, ImportError) as e:
                    say(f"  node {node.id} partition {p}: records not decoded ({e})")
                    continue
                want = {o: v for o, v in final.get(p, {}).items() if o < high}
                if len(self.cluster.nodes) > 1:
                    # A follower short of the high watermark is the checker's replica-behind;
                    # here only what it holds must match.
                    want = {o: v for o, v in want.items() if o in on_disk}
                if on_disk != want:
                    diff = sorted(set(on_disk.items()) ^ set(want.items()))[:5]
                    self.problem("disk-mismatch", node=node.id, p=p, on_disk=len(on_disk),
                                 served=len(want), first_differences=diff)
        if len(self.cluster.nodes) > 1:
            with open(os.path.join(self.hist, "replicas.json"), "w") as f:
                json.dump(replicas, f)

    def run(self):
        a = self.a
        self.dead_clients = set()
        self.current_round = 0
        with self.make_cluster() as cl:
            try:
                cl.start()
                say(f"{len(cl.nodes)} node(s) ready; clients connect to {cl.bootstrap}")
                self.create_topic()
                self.start_workload()
                self.wait_workload()
                say(f"workload running ({self.acked()} acknowledged so far)")
                for i in range(a.rounds):
                    self.current_round = i
                    self.run_round(i)
                say("healing everything")
                self.heal()
                self.sleep(a.settle_s)
                for name, c in self.clients.items():
                    if name.startswith("producer-"):
                        rc = c.stop(timeout_s=45)
                        if rc != 0 and name not in self.dead_clients:
                            self.problem("client-failed", client=name, status=rc,
                                         log=c.log_tail(5))
                drained = self.drain(a.drain_timeout_s)
                for name, c in self.clients.items():
                    if not name.startswith("producer-"):
                        rc = c.stop(timeout_s=20)
                        if rc != 0 and name not in self.dead_clients:
                            self.problem("client-failed", client=name, status=rc,
                                         log=c.log_tail(5))
                self.final_read()
                final = checker.load_dir(self.hist)
                if len(cl.nodes) > 1:
                    # Followers fetch what the final read saw; no per-replica lag is exposed
                    # yet to wait on, so they get a fixed time before the stop.
                    self.sleep(a.replica_settle_s)
                for node_id, rc in cl.stop().items():
                    if rc != 0:
                        self.problem("unclean-stop", node=node_id, status=rc, round="end")
                self.compare_disk(final.marks)
                say(f"proxies: {json.dumps(cl.net.counts())}")
            finally:
                for c in self.clients.values():
                    c.kill_quietly()
                if self.disk:
                    cl.close()
                    self.disk.unmount_all()
        report = checker.check(checker.load_dir(self.hist, drained=drained))
        print(report.text(), flush=True)
        with open(os.path.join(self.hist, "checker.json"), "w") as f:
            json.dump({"seed": a.seed, "stats": report.stats, "anomalies": report.anomalies,
                       "runner_problems": self.problems}, f, indent=1, default=str)
        return report


def parse(argv):
    ap = argparse.ArgumentParser(description="ferry fault-injection runner")
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN"), required=False)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each round")
    ap.add_argument("--faults", default="kill,pause,restart,partition")
    ap.add_argument("--seed", type=int, default=None,
                    help="the schedule's seed (default: $FERRY_NEMESIS_SEED, else random)")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--producers", type=int, default=2, help="confluent-kafka producers")
    ap.add_argument("--kafkajs", type=int, default=1, choices=(0, 1),
                    help="also run a kafkajs producer (when node and kafkajs are installed)")
    ap.add_argument("--consumers", type=int, default=2)
    ap.add_argument("--rate", type=float, default=40.0, help="messages a second per producer")
    ap.add_argument("--producer-acks", default="all", choices=("all", "1", "0"))
    ap.add_argument("--idempotence", type=int, default=1, choices=(0, 1))
    ap.add_argument("--force-loss", type=int, default=0, metavar="BATCHES",
                    help="mutation: cut this many batches off each partition at every kill")
    ap.add_argument("--force-meta-rollback", action="store_true",
                    help="mutation: meta.db saved at the first kill, put back at later ones")
    ap.add_argument("--expect-anomalies", default="",
                    help="comma-separated kinds the checker must report (mutation runs)")
    ap.add_argument("--settle-s", type=float, default=2.0, help="workload time after healing")
    ap.add_argument("--drain-timeout-s", type=float, default=60.0)
    ap.add_argument("--replica-settle-s", type=float, default=5.0,
                    help="clusters: time for followers to catch up before the final stop")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--log-level", default="info")
    a = ap.parse_args(argv)
    if not a.ferry or not os.access(a.ferry, os.X_OK):
        ap.error(f"ferry binary not found: {a.ferry!r} (--ferry or FERRY_BIN)")
    a.ferry = os.path.abspath(a.ferry)
    a.faults = [f for f in a.faults.split(",") if f]
    for f in a.faults:
        if f not in FAULTS:
            ap.error(f"unknown fault {f!r}; known: {', '.join(FAULTS)}")
    if not a.faults:
        ap.error("no faults")
    if "wipe" in a.faults and a.nodes < 2:
        ap.error("wipe needs --nodes 2 or more (one node would lose everything)")
    a.expect_anomalies = [k for k in a.expect_anomalies.split(",") if k]
    if a.seed is None and os.environ.get("FERRY_NEMESIS_SEED"):
        a.seed = int(os.environ["FERRY_NEMESIS_SEED"])
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    return a


def main(argv):
    a = parse(argv)
    clusterlib.install_exit_handlers()
    say(f"nemesis: seed {a.seed} (repeat with --seed {a.seed}); nodes {a.nodes}, rounds "
        f"{a.rounds} x {a.seconds}s, faults {','.join(a.faults)}")
    own_workdir = a.workdir is None
    a.workdir = a.workdir or tempfile.mkdtemp(prefix="ferry-nemesis-")
    os.makedirs(a.workdir, exist_ok=True)
    if a.nodes > 1:
        ok, why = clusterlib.cluster_config_supported(a.ferry, a.workdir)
        if not ok:
            say(f"SKIP: this ferry has no [cluster] support yet: {why}")
            if own_workdir:
                shutil.rmtree(a.workdir, ignore_errors=True)
            return 77
    a.node_bin = shutil.which("node")
    if a.kafkajs and not (a.node_bin and workload.kafkajs_installed()):
        say("kafkajs producer left out: node or tests/compat/node_modules/kafkajs missing "
            "(npm ci --prefix tests/compat)")
        a.kafkajs = 0
    runner = Runner(a)
    failed = True
    try:
        report = runner.run()
        kinds = report.kinds()
        if a.expect_anomalies:
            missing = [k for k in a.expect_anomalies if k not in kinds]
            failed = bool(missing)
            say(f"expected anomalies {a.expect_anomalies}: "
                + (f"MISSING {missing}" if missing else "all reported"))
        else:
            failed = not report.ok or bool(runner.problems)
            for p in runner.problems:
                say(f"runner found: {p}")
    except Exception as e:  # a harness failure: the node logs say why
        say(f"ERROR: {type(e).__name__}: {e}")
        if runner.cluster:
            for node in runner.cluster.nodes:
                print(node.log_tail(), flush=True)
        raise
    finally:
        keep = a.keep or failed
        if keep:
            say(f"work directory kept: {a.workdir}")
        elif own_workdir:
            shutil.rmtree(a.workdir, ignore_errors=True)
        say(f"{'FAIL' if failed else 'PASS'} nemesis (seed {a.seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
