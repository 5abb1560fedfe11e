#!/usr/bin/python3
"""`ferry cluster status` and the cluster's /metrics against a real 3-node cluster: every
partition led, ISR full and lag 0 after acks=all produces; after SIGKILL of one node, its
admin listener unanswered, its links down on the others, its replicas out of the ISR and
offline, the partitions it led led elsewhere, the under-replicated partitions counted; /metrics
of every node accepted by `promtool check metrics` before and after.

Usage: /usr/bin/python3 status_test.py --ferry PATH. Exit 77 (skipped) without promtool, once
everything else passed (the metrics are still checked, only not by promtool)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as clusterlib  # noqa: E402

TOPIC = "watched"
PARTITIONS = 3
RECORDS = 50
failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        failures.append(what)


def status(ferry, admins, json_out=True, cwd=None):
    cmd = [ferry, "cluster", "status", "--admin", ",".join(admins), "--timeout-ms", "2000"]
    if json_out:
        cmd.append("--json")
    r = subprocess.run(cmd, capture_output=True, timeout=60, cwd=cwd)
    out = r.stdout.decode()
    return r.returncode, (json.loads(out) if json_out and out.strip() else out), r.stderr.decode()


def wait_status(ferry, admins, cond, timeout_s, cwd):
    """Polls `ferry cluster status --json` until cond(doc) is true; the last doc either way."""
    deadline = time.monotonic() + timeout_s
    doc = None
    while time.monotonic() < deadline:
        rc, doc, _ = status(ferry, admins, cwd=cwd)
        if rc == 0 and cond(doc):
            return True, doc
        time.sleep(0.3)
    return False, doc


def metrics(port):
    code, text = clusterlib.http_get(port, "/metrics", timeout_s=5)
    assert code == 200, text
    return text


def samples(text, name):
    """{frozenset(labels): value} of every sample of `name`."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
            out[labels] = float(m.group(2))
    return out


def promtool(text):
    if shutil.which("promtool") is None:
        return None, "promtool not installed"
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=60)
    return p.returncode == 0, (p.stdout + p.stderr).decode()


def topic_rows(doc):
    return [p for p in doc["partitions"] if p["topic"] == TOPIC]


def healthy(doc):
    rows = topic_rows(doc)
    return (len(rows) == PARTITIONS and all(s["error"] is None for s in doc["sources"])
            and doc["controller"] is not None
            and all(p["leader"] is not None and len(p["isr"]) == 3 for p in doc["partitions"]))


def caught_up(doc):
    """Healthy, every follower at the leader's log end, and leadership settled on the
    preferred replicas (the nodes hand it back there a few seconds after start)."""
    return healthy(doc) and all(
        p["lag"] is not None and len(p["lag"]) == 2 and p["leader"] == p["replicas"][0]
        and all(l["records_behind"] == 0 for l in p["lag"]) for p in topic_rows(doc))


def settled_checks(make_checks, attempts=10):
    """Runs make_checks() (a list of (what, ok, detail) over one round of scrapes) until every
    check passes or `attempts` rounds were made (a leadership move between two scrapes can
    make one round inconsistent); records the last round's results."""
    for i in range(attempts):
        results = make_checks()
        if all(ok for _, ok, _ in results) or i == attempts - 1:
            for what, ok, detail in results:
                check(what, ok, detail)
            return
        time.sleep(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    args = ap.parse_args()
    ferry = os.path.abspath(args.ferry)
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    clusterlib.install_exit_handlers()
    work = tempfile.mkdtemp(prefix="ferry-cluster-status-")
    settings = {"election.timeout.ms": 1000, "heartbeat.interval.ms": 100,
                "replica.lag.time.max.ms": 2000}
    try:
        with clusterlib.Cluster(ferry, 3, work, proxied=False, cluster_settings=settings) as c:
            c.start()
            admins = [f"127.0.0.1:{n.admin_port}" for n in c.nodes]
            admin = AdminClient({"bootstrap.servers": c.direct_bootstrap})
            fs = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)], operation_timeout=30)
            for f in fs.values():
                f.result(timeout=60)
            p = Producer({"bootstrap.servers": c.direct_bootstrap, "acks": "all",
                          "enable.idempotence": True})
            delivered = []
            for i in range(RECORDS):
                p.produce(TOPIC, value=f"r{i}".encode(), partition=i % PARTITIONS,
                          on_delivery=lambda err, msg: delivered.append(err is None))
            p.flush(60)
            check("every record acknowledged", len(delivered) == RECORDS and all(delivered),
                  delivered)

            ok, doc = wait_status(ferry, admins, caught_up, 20, work)
            check("all nodes answer, every partition led, ISR full, lag 0", ok,
                  json.dumps(doc, indent=1))
            check("three sources, each naming its node",
                  sorted(s["node"] for s in doc["sources"]) == [1, 2, 3], doc["sources"])
            check("one controller", sum(n["controller"] for n in doc["nodes"]) == 1, doc["nodes"])
            check("every node answered and reachable, links up from both others",
                  all(n["answered"] and n["reachable"] and len(n["link_up_from"]) == 2
                      and not n["link_down_from"] for n in doc["nodes"]), doc["nodes"])
            check("no under-replicated partition", doc["under_replicated"]["count"] == 0,
                  doc["under_replicated"])
            check("each partition's figures come from its leader",
                  all(p["source"] == p["leader"] and p["role"] == "leader"
                      for p in doc["partitions"]), doc["partitions"])
            check("the metadata log is listed first",
                  doc["partitions"][0]["topic"] == "__cluster_metadata", doc["partitions"][0])
            ends = sum(p["log_end"] for p in topic_rows(doc))
            check("the leaders' log ends hold every record (and the epoch marks)",
                  ends >= RECORDS, ends)
            check("a follower's last fetch is recent",
                  all(l["last_fetch_ms_ago"] is not None and l["last_fetch_ms_ago"] < 5000
                      for p in topic_rows(doc) for l in p["lag"]), topic_rows(doc))

            rc, text, _ = status(ferry, admins, json_out=False, cwd=work)
            check("text output: exit 0", rc == 0, rc)
            check("text output fits 80 columns",
                  all(len(line) <= 80 for line in text.splitlines()), text)
            check("text output says no partition is under-replicated",
                  "under-replicated partitions: 0" in text, text)
            print(text)

            # The default admin address: admin.listen of --config.
            r = subprocess.run([ferry, "cluster", "status", "--json", "--config",
                                c.node(2).config_path], capture_output=True, timeout=60, cwd=work)
            d = json.loads(r.stdout.decode()) if r.returncode == 0 else {}
            check("--config takes admin.listen",
                  r.returncode == 0 and [s["admin"] for s in d["sources"]] == [admins[1]],
                  r.stdout.decode() + r.stderr.decode())

            promtool_missing = False
            leaders_before = {p["partition"]: p["leader"] for p in topic_rows(doc)}

            def healthy_metrics():
                nonlocal promtool_missing
                out = []
                total_lag_series = 0
                is_ctl = 0
                elections = 0
                for n in c.nodes:
                    text = metrics(n.admin_port)
                    ok, detail = promtool(text)
                    if ok is None:
                        promtool_missing = True
                    else:
                        out.append((f"promtool accepts node {n.id}'s /metrics", ok, detail))
                    ups = samples(text, "ferry_cluster_link_up")
                    out.append((f"node {n.id}: both links up",
                                len(ups) == 2 and all(v == 1 for v in ups.values()), ups))
                    sent = samples(text, "ferry_cluster_link_sent_bytes_total")
                    out.append((f"node {n.id}: link bytes counted",
                                len(sent) == 2 and all(v > 0 for v in sent.values()), sent))
                    led = {k for k in samples(text, "ferry_partition_under_replicated")
                           if ("topic", TOPIC) in k}
                    lags = {k: v for k, v in samples(text, "ferry_replica_lag_records").items()
                            if ("topic", TOPIC) in k}
                    total_lag_series += len(lags)
                    lag_parts = {frozenset(x for x in k if x[0] != "replica") for k in lags}
                    out.append((f"node {n.id}: replica lag series (2 each, all 0) exactly for the "
                                "partitions it leads",
                                lag_parts == led and len(lags) == 2 * len(led)
                                and all(v == 0 for v in lags.values()), (led, lags)))
                    out.append((f"node {n.id}: nothing under-replicated",
                                list(samples(text, "ferry_cluster_under_replicated_partitions")
                                     .values()) == [0], text))
                    is_ctl += sum(samples(text, "ferry_cluster_is_controller").values())
                    elections += sum(samples(text, "ferry_cluster_leader_elections_total").values())
                out.append(("lag series: 2 per partition over the cluster",
                            total_lag_series == 2 * PARTITIONS, total_lag_series))
                out.append(("exactly one node says it is the controller", is_ctl == 1, is_ctl))
                out.append(("leader elections counted (each partition and the metadata log)",
                            elections >= PARTITIONS + 1, elections))
                return out

            settled_checks(healthy_metrics)

            # SIGKILL the node leading the most partitions (ties: the lowest id).
            victim = max((sum(1 for l in leaders_before.values() if l == n.id), -n.id)
                         for n in c.nodes)
            victim = -victim[1]
            c.node(victim).kill9()
            others = [n for n in c.nodes if n.id != victim]
            print(f"killed node {victim}", flush=True)

            def degraded(d):
                rows = topic_rows(d)
                vnode = [n for n in d["nodes"] if n["id"] == victim]
                return (len(rows) == PARTITIONS and vnode and not vnode[0]["answered"]
                        and vnode[0]["reachable"] is False
                        and all(p["leader"] is not None and p["leader"] != victim
                                and victim not in p["isr"] and victim in p["offline"]
                                for p in d["partitions"]))

            ok, doc = wait_status(ferry, admins, degraded, 30, work)
            check("after SIGKILL: new leaders, the node out of every ISR and offline", ok,
                  json.dumps(doc, indent=1))
            src = [s for s in doc["sources"] if s["admin"] == admins[victim - 1]]
            check("the killed node's admin listener is reported unanswered",
                  src and src[0]["node"] is None and src[0]["error"], doc["sources"])
            vnode = [n for n in doc["nodes"] if n["id"] == victim][0]
            check("both other nodes report their link to it down",
                  vnode["link_down_from"] == sorted(n.id for n in others)
                  and not vnode["link_up_from"], vnode)
            check("every partition (the metadata log too) under-replicated",
                  doc["under_replicated"]["count"] == PARTITIONS + 1
                  and len(doc["under_replicated"]["partitions"]) == PARTITIONS + 1,
                  doc["under_replicated"])
            check("no partition without a leader", doc["leaderless"] == 0, doc["leaderless"])
            check("the controller is a live node",
                  doc["controller"] in [n.id for n in others], doc["controller"])
            rc, text, _ = status(ferry, admins, json_out=False, cwd=work)
            check("text output after SIGKILL: exit 0, names the unanswered admin",
                  rc == 0 and f"no answer from {admins[victim - 1]}" in text
                  and f"under-replicated partitions: {PARTITIONS + 1}" in text, text)
            print(text)
            rc, _, err = status(ferry, [admins[victim - 1]], cwd=work)
            check("only the dead node asked: exit 1", rc == 1, (rc, err))

            def degraded_metrics():
                out = []
                under_total = 0
                for n in others:
                    text = metrics(n.admin_port)
                    ok, detail = promtool(text)
                    if ok is not None:
                        out.append((f"promtool accepts node {n.id}'s /metrics after the kill", ok,
                                    detail))
                    up = samples(text, "ferry_cluster_link_up")
                    out.append((f"node {n.id}: link to node {victim} down",
                                up.get(frozenset({("peer", str(victim))})) == 0, up))
                    under_total += sum(samples(
                        text, "ferry_cluster_under_replicated_partitions").values())
                    flags = samples(text, "ferry_partition_under_replicated")
                    out.append((f"node {n.id}: each partition it leads flagged under-replicated",
                                all(v == 1 for v in flags.values()), flags))
                    insync = samples(text, "ferry_replica_in_sync")
                    dead = {k: v for k, v in insync.items() if ("replica", str(victim)) in k}
                    out.append((f"node {n.id}: node {victim} out of sync where it leads",
                                len(dead) == len(flags) and all(v == 0 for v in dead.values()),
                                insync))
                out.append(("the survivors' under-replicated gauges add up to every partition",
                            under_total == PARTITIONS + 1, under_total))
                return out

            settled_checks(degraded_metrics)
            if promtool_missing:
                print("promtool not installed (Debian package prometheus): metrics not linted")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        return 1
    if shutil.which("promtool") is None:
        print("SKIP: promtool not installed; everything else passed")
        return 77
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
