#!/usr/bin/python3
# Idempotent producers under real faults, with kafkajs 2.2.4: no batch is stored twice and no
# partition is reordered, although responses are lost, connections dropped and ferry is killed
# with SIGKILL while the producer runs.
#
# kafkajs_idempotent_producer.js sends messages whose value is the global sequence number to
# partition i % 4, 100 per producer.send() (acks -1, maxInFlightRequests 1), through
# fault_proxy.FaultProxy (ferry advertises the proxy's address): the proxy swallows Produce
# responses after ferry has sent them, drops connections at random moments and sometimes holds
# responses for a second or two. The node process prints its progress; this script reads it and
# kills ferry with SIGKILL at ~30% and ~65% (restarting it on the same data directory and port).
#
#   1. Control: 2000 messages with idempotent: false through the same lossy proxy: read back
#      directly from ferry, they must contain duplicates (kafkajs retries a send whose response
#      was lost, and nothing deduplicates it).
#   2. 20000 messages with idempotent: true, two SIGKILLs: every send acknowledged; read back
#      directly from ferry (restarted with SIGTERM without the proxy's address), every sequence
#      number exactly once, in its partition, strictly increasing within each partition; the proxy
#      lost a minimum of Produce responses and ferry logged "duplicate batch" answers. Each kill
#      comes right after a lost Produce response (see kill_after_lost_response in
#      test_idempotent_confluent.py), and each restarted ferry must answer a retried batch from
#      the producer state it persisted.
#
# Needs `npm ci --prefix tests/compat` (tests/run-all.sh does it). FERRY_COMPAT_SEED sets the
# proxy's random seed.
import os
import queue
import subprocess
import sys
import threading
import time

import harness
from harness import check, check_eq, step, CheckFailed
from fault_proxy import FaultProxy
from test_idempotent_confluent import (PARTS, analyse, check_faults_and_read_back,
                                       kill_after_lost_response, read_direct)

HERE = os.path.dirname(os.path.abspath(__file__))
N_CONTROL = 2000
N_MAIN = 20000
SEND_SIZE = 100
KILL_AT = (0.30, 0.65)
SEED = int(os.environ.get("FERRY_COMPAT_SEED", "20261125"))

FAULTS_MAIN = dict(lose_p=0.10, drop_p=0.01, stall_p=0.01)
FAULTS_CONTROL = dict(lose_p=0.30, drop_p=0.0, stall_p=0.0)


def run_producer(node, bootstrap, topic, n, idempotent, log_path, on_progress=None,
                 timeout_s=150):
    """Runs the node producer to completion (bounded); calls on_progress(delivered) for each
    progress line. Returns the number of messages it reported delivered."""
    cmd = [node, os.path.join(HERE, "kafkajs_idempotent_producer.js"), bootstrap, topic, str(n),
           str(SEND_SIZE), str(PARTS), "1" if idempotent else "0"]
    print(f"  $ {' '.join(cmd)} (stderr {log_path})", flush=True)
    env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
    lines = queue.Queue()
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)

        def reader():
            for raw in proc.stdout:
                lines.put(raw.decode(errors="replace").rstrip("\n"))
            lines.put(None)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        delivered, done, failure = 0, False, None
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                if line is None:
                    break
                word, _, rest = line.partition(" ")
                if word == "progress":
                    delivered = int(rest)
                    if on_progress:
                        on_progress(delivered)
                elif word == "done":
                    done = True
                elif word == "error":
                    failure = rest
                else:
                    print(f"    node: {line}", flush=True)
            else:
                raise CheckFailed(f"{topic}: the kafkajs producer did not finish within "
                                  f"{timeout_s}s ({delivered} of {n} acknowledged)")
            rc = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            t.join(5)
            proc.stdout.close()
    if failure is not None or rc != 0 or not done:
        with open(log_path, "rb") as f:
            tail = f.read().decode(errors="replace").splitlines()[-30:]
        print("\n".join(f"    node stderr: {l}" for l in tail), flush=True)
        raise CheckFailed(f"{topic}: the kafkajs producer failed (exit code {rc}) after "
                          f"{delivered} of {n} acknowledged: {failure}")
    return delivered


def body(args):
    node = harness.require_kafkajs()
    try:
        import confluent_kafka  # noqa: F401  (topic creation and reading back)
    except ImportError:
        print("SKIP: confluent-kafka-python is not installed (python3-confluent-kafka)")
        sys.exit(77)

    proxy_port = harness.free_port()
    proxy_addr = f"127.0.0.1:{proxy_port}"
    with harness.Ferry(args.ferry, extra_args=["--advertised", proxy_addr]) as ferry, \
            FaultProxy(proxy_port, lambda: ferry.port, seed=SEED, max_lifetime_s=280) as proxy:
        harness.admin_create_topic(proxy_addr, "kj-idem-control", PARTS)
        harness.admin_create_topic(proxy_addr, "kj-idem-main", PARTS)

        step(f"control: {N_CONTROL} messages, idempotent: false, through the lossy proxy")
        proxy.configure(**FAULTS_CONTROL)
        before = proxy.counts()
        t0 = time.monotonic()
        acked = run_producer(node, proxy_addr, "kj-idem-control", N_CONTROL, False,
                             os.path.join(ferry.workdir, "node-control.log"))
        proxy.configure(lose_p=0, drop_p=0, stall_p=0)
        after = proxy.counts()
        faults = {k: after[k] - before[k] for k in after}
        print(f"  control produce took {time.monotonic() - t0:.1f}s; proxy: {faults}", flush=True)
        check_eq(acked, N_CONTROL, f"control: {N_CONTROL} messages acknowledged")
        check(faults["lost_responses"] > 0, f"control: the proxy lost {faults['lost_responses']} "
              "Produce responses")
        got = read_direct(ferry, proxy_addr, "kj-idem-control")
        res = analyse("kj-idem-control", got, N_CONTROL)
        check_eq(res["missing"], [], "control: nothing missing")
        check(len(res["dups"]) > 0, f"control: without idempotence the lost responses cause "
              f"duplicates ({len(res['dups'])})")

        step(f"{N_MAIN} messages, idempotent: true, lossy proxy, SIGKILL twice")
        proxy.configure(**FAULTS_MAIN)
        before = proxy.counts()
        kills = []

        def on_progress(delivered):
            if len(kills) < len(KILL_AT) and delivered >= KILL_AT[len(kills)] * N_MAIN:
                print(f"  {delivered} of {N_MAIN} acknowledged: kill -9 once a response is lost",
                      flush=True)
                kills.append((delivered,) + kill_after_lost_response(ferry, proxy, FAULTS_MAIN))

        t0 = time.monotonic()
        acked = run_producer(node, proxy_addr, "kj-idem-main", N_MAIN, True,
                             os.path.join(ferry.workdir, "node-main.log"), on_progress)
        took = time.monotonic() - t0
        proxy.configure(lose_p=0, drop_p=0, stall_p=0)
        after = proxy.counts()
        faults = {k: after[k] - before[k] for k in after}
        print(f"  idempotent produce took {took:.1f}s; proxy: {faults}", flush=True)
        check_eq(acked, N_MAIN, f"{N_MAIN} messages acknowledged")
        check_eq(len(kills), 2, "ferry was killed with SIGKILL twice during the run (at "
                 f"{[k[0] for k in kills]} acknowledged)")
        check_faults_and_read_back(ferry, proxy_addr, "kj-idem-main", N_MAIN, kills, faults)


if __name__ == "__main__":
    harness.main("idempotent producer (kafkajs) under faults against ferry", body)
