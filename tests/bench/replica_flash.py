# Bytes written to flash per byte produced, on each replica of a 3-node cluster and on a single
# node, measured in the same run (docs/benchmarks.md "Replication").
#
# Each setup gets a fresh data directory, a topic of 3 partitions (replication factor 3 on the
# cluster), and the same confluent-kafka producer (acks=all, 1 KiB values of random bytes so LZ4
# does not shrink them, linger 5 ms). Before and after, each node's /metrics gives
# ferry_data_written_bytes_total by kind (what ferry wrote to its data directory) and
# ferry_process_storage_written_bytes_total (the kernel's count for the process, page-cache
# writes that reach the device included). The figure is written bytes / produced value bytes.
#
#   /usr/bin/python3 tests/bench/replica_flash.py --ferry build/native/src/app/ferry [--mib 64]
import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
import cluster as cl  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "flash"
SAMPLE = re.compile(r'^(ferry_data_written_bytes_total|ferry_process_storage_written_bytes_total)'
                    r'(?:\{kind="([a-z_]+)"\})? (\d+)', re.M)


def written(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for name, kind, value in SAMPLE.findall(text):
        key = kind if name == "ferry_data_written_bytes_total" else "process"
        out[key] = int(value)
    return out


def produce(bootstrap, mib):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "enable.idempotence": True, "compression.type": "none"})
    value_bytes = 0
    n = mib * 1024
    for i in range(n):
        v = os.urandom(1024)
        while True:
            try:
                p.produce(TOPIC, value=v, partition=i % 3)
                break
            except BufferError:
                p.poll(0.05)
        value_bytes += len(v)
        p.poll(0)
    assert p.flush(120) == 0, "not every record was acknowledged"
    return value_bytes


def measure(ferry, nodes, mib, workdir):
    with cl.Cluster(ferry, nodes, workdir, proxied=False,
                    cluster_settings={"election.timeout.ms": 1000,
                                      "heartbeat.interval.ms": 200}) as c:
        c.start()
        admin = AdminClient({"bootstrap.servers": c.direct_bootstrap})
        admin.create_topics([NewTopic(TOPIC, 3, nodes)])[TOPIC].result(30)
        time.sleep(2)
        before = {n.id: written(n.admin_port) for n in c.nodes}
        produced = produce(c.direct_bootstrap, mib)
        time.sleep(3)  # followers fetch and fsync what is left
        after = {n.id: written(n.admin_port) for n in c.nodes}
        c.stop()
    rows = {}
    for nid in before:
        rows[nid] = {k: after[nid].get(k, 0) - before[nid].get(k, 0) for k in after[nid]}
    return produced, rows


def show(title, produced, rows):
    print(f"{title}: {produced / 2**20:.1f} MiB of values produced")
    kinds = ["log_append", "index", "meta_db", "meta_wal", "checkpoint", "recovery", "compaction"]
    print(f"  {'node':>4} {'data dir':>9} {'process':>9}   " +
          " ".join(f"{k:>10}" for k in kinds))
    for nid, d in sorted(rows.items()):
        data = sum(d.get(k, 0) for k in kinds)
        print(f"  {nid:>4} {data / produced:>9.3f} {d.get('process', 0) / produced:>9.3f}   " +
              " ".join(f"{d.get(k, 0) / produced:>10.4f}" for k in kinds))


def main():
    ap = argparse.ArgumentParser(description="bytes written to flash per byte produced")
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--mib", type=int, default=64, help="MiB of values per setup")
    a = ap.parse_args()
    cl.install_exit_handlers()
    workdir = tempfile.mkdtemp(prefix="ferry-flash-")
    try:
        p1, single = measure(a.ferry, 1, a.mib, os.path.join(workdir, "single"))
        p3, three = measure(a.ferry, 3, a.mib, os.path.join(workdir, "three"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("bytes written per byte produced (data dir: ferry's own count; process: the kernel's)")
    show("single node", p1, single)
    show("3 nodes, replication factor 3", p3, three)


if __name__ == "__main__":
    main()
