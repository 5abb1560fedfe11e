#!/usr/bin/python3
# A rolling restart under load: nemesis.py's 3-node run (topic with replication factor 3, every
# link behind a proxy; the workload of workload.py: confluent-kafka producers, idempotent with
# acks=all, the kafkajs producer of kafkajs_producer.js, idempotent, two group consumers and the
# observer), where the rounds are not random faults but node 1, 2, 3 in turn: SIGTERM (exit 0
# expected), started again, ready on /health/ready before the round's quiet time and the next
# node. Then nemesis's end: heal, drain the group, final read, clean stop, each replica's log
# files compared below the high watermark, and checker.py on the histories.
#
# Passes when the checker finds nothing, the runner found nothing (unclean stops, dead clients)
# and no idempotent producer recorded a failed send (`fail` events: an error its retries did not
# fix) or a fatal error that replaced its instance.
#
#   rolling_restart.py --ferry build/native/src/app/ferry [--seconds 6] [--keep]
import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import cluster as clusterlib  # noqa: E402
import nemesis  # noqa: E402
import workload  # noqa: E402

say = nemesis.say


class RollingRunner(nemesis.Runner):
    def heal(self):
        """Then waits until every partition is led by its preferred replica again (the replica
        manager moves it back after a restart), so the producers still write after the last
        change of leader and no log ends in a leader's epoch-start batch."""
        super().heal()
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap})
        deadline = time.monotonic() + 30
        parts = {}
        while time.monotonic() < deadline:
            try:
                md = admin.list_topics(nemesis.TOPIC, timeout=5).topics[nemesis.TOPIC]
                parts = {p: (m.leader, list(m.replicas)) for p, m in md.partitions.items()}
            except Exception as e:
                parts = {"error": str(e)}
            if parts and all(isinstance(v, tuple) and v[1] and v[0] == v[1][0]
                             for v in parts.values()):
                say(f"every partition led by its preferred replica: {parts}")
                return
            time.sleep(0.3)
        self.problem("preferred-leader", partitions=parts)

    def run_round(self, i):
        cl = self.cluster
        node = cl.nodes[i % len(cl.nodes)]
        start = time.monotonic()
        say(f"round {i}: SIGTERM node {node.id}, restart, wait for /health/ready")
        cl.event("fault", round=i, fault="restart", node=node.id)
        rc = node.stop()
        if rc != 0:
            self.problem("unclean-stop", node=node.id, status=rc, round=i)
        t = time.monotonic()
        node.start()  # returns once /health/ready answers 200
        say(f"  node {node.id} ready {time.monotonic() - t:.1f}s after its start")
        self.check_alive(i)
        cl.event("healed", round=i)
        self.sleep(self.a.seconds - (time.monotonic() - start))


def producer_failures(hist):
    """{producer file: [fail and fatal events]}."""
    out = {}
    for name in sorted(os.listdir(hist)):
        if name.startswith("producer-") and name.endswith(".jsonl"):
            bad = [e for e in checker.read_jsonl(os.path.join(hist, name))
                   if e.get("type") == "fail" or (e.get("type") == "error" and e.get("fatal"))]
            out[name] = bad
    return out


def main(argv):
    ap = argparse.ArgumentParser(description="rolling restart of a 3-node cluster under load")
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN"))
    ap.add_argument("--seconds", type=float, default=6.0, help="each node's round")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    args = ["--ferry", a.ferry or "", "--nodes", "3", "--rounds", "3", "--seconds",
            str(a.seconds), "--faults", "restart", "--seed", "0", "--replica-settle-s", "3",
            "--drain-timeout-s", "30"]
    if a.keep:
        args.append("--keep")
    n = nemesis.parse(args)
    clusterlib.install_exit_handlers()
    n.workdir = tempfile.mkdtemp(prefix="ferry-rolling-")
    ok, why = clusterlib.cluster_config_supported(n.ferry, n.workdir)
    if not ok:
        say(f"SKIP: no [cluster] support: {why}")
        shutil.rmtree(n.workdir, ignore_errors=True)
        return 77
    n.node_bin = shutil.which("node")
    if not (n.node_bin and workload.kafkajs_installed()):
        say("SKIP: node or tests/compat/node_modules/kafkajs missing (npm ci --prefix "
            "tests/compat)")
        shutil.rmtree(n.workdir, ignore_errors=True)
        return 77
    started = time.monotonic()
    runner = RollingRunner(n)
    failed = True
    try:
        report = runner.run()
        kinds = report.kinds()
        failed = bool(kinds) or bool(runner.problems)
        for p in runner.problems:
            say(f"runner found: {p}")
        for name, bad in producer_failures(runner.hist).items():
            acks = sum(1 for e in checker.read_jsonl(os.path.join(runner.hist, name))
                       if e.get("type") == "ack")
            say(f"{name}: {acks} acknowledged, {len(bad)} failed sends or fatal errors"
                + (f" (first {bad[:3]})" if bad else ""))
            if bad:
                failed = True
            if acks == 0:
                say(f"{name}: no acknowledgement at all")
                failed = True
    finally:
        if failed or a.keep:
            say(f"work directory kept: {n.workdir}")
        else:
            shutil.rmtree(n.workdir, ignore_errors=True)
        say(f"{'FAIL' if failed else 'PASS'} rolling_restart in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
