# End-to-end test of the per-topic disk-full policy (disk.full.policy, log.dir.min.free.bytes):
# a gateway `ferry serve` whose data directory is a small tmpfs (mounted in a user and mount
# namespace of its own: `unshare -rm`) mirrors a topic to a target that is not reachable, so the
# keep-until-mirrored floor holds everything and the backlog fills the disk.
#
# - refuse: producers get KAFKA_STORAGE_ERROR once less than log.dir.min.free.bytes is free
#   (before the disk is actually full: the bytes acknowledged stay below the tmpfs size minus
#   the threshold plus one segment), every acknowledged record is still there, nothing is
#   dropped.
# - drop_oldest: produce of several times the tmpfs size goes on; the oldest segments are
#   dropped and each dropped range is logged at ERROR (contiguous from offset 0, ending at the
#   new log start); then the target comes up (a second `ferry serve` on the configured port)
#   and the mirror logs the gap and forwards everything from the new log start, once.
#
# Skipped (exit code 77) where unprivileged user namespaces or tmpfs mounts are not allowed.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import (CheckFailed, Ferry, check, check_eq, free_port, step, wait_for,  # noqa: E402
                     admin_create_topic, consume_assigned, main)

MiB = 1 << 20
TMPFS_BYTES = 24 * MiB
MIN_FREE = 8 * MiB
SEGMENT = 1 * MiB
VALUE = 4096


def tmpfs_possible():
    d = tempfile.mkdtemp(prefix="ferry-tmpfs-probe-")
    try:
        r = subprocess.run(["unshare", "-rm", "sh", "-c",
                            f"mount -t tmpfs -o size=1m tmpfs '{d}' && touch '{d}/x'"],
                           capture_output=True, timeout=10)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)


def tmpfs_wrapper(ferry_bin, workdir):
    """A script that runs `ferry "$@"` with its --data-dir on a fresh tmpfs of TMPFS_BYTES,
    visible to that process only. exec keeps the pid, so signals reach ferry."""
    path = os.path.join(workdir, "ferry-on-tmpfs.sh")
    ferry_bin = os.path.abspath(ferry_bin)
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
# usage: ferry-on-tmpfs.sh serve --data-dir DIR ...
data=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--data-dir" ]; then data="$a"; fi
  prev="$a"
done
exec unshare -rm sh -c 'mount -t tmpfs -o size={TMPFS_BYTES} tmpfs "$0" && exec "$@"' \\
  "$data" "{ferry_bin}" "$@"
""")
    os.chmod(path, 0o755)
    return path


def gateway_config(target_port):
    return f"""
[broker]
log.dir.min.free.bytes = {MIN_FREE}

[topic_defaults]
segment.bytes = {SEGMENT}
# Stored as sent: the (repetitive) values must fill the tmpfs, not shrink to LZ4.
compression.type = "producer"

[[mirror]]
name = "central"
bootstrap.servers = "127.0.0.1:{target_port}"
topics = ["d\\\\..*"]
target.topic = "site.{{topic}}"
request.timeout.ms = 3000
reconnect.backoff.ms = 50
reconnect.backoff.max.ms = 200
"""


def produce(bootstrap, topic, first, count, conf_extra=None, stop_on_error=False):
    """Produces records `first`..`first+count-1` (value: the number, padded to VALUE bytes of
    varied text) one by one in order; returns (acked numbers, {error name: count}). With
    `stop_on_error`, stops after the first 100 records with a failed delivery."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
            "compression.type": "none", "message.timeout.ms": 10000}
    conf.update(conf_extra or {})
    p = Producer(conf)
    acked, errors = [], {}

    def on_delivery(err, msg):
        if err is None:
            acked.append(int(msg.key()))
        else:
            errors[err.name()] = errors.get(err.name(), 0) + 1

    for n in range(first, first + count):
        value = (f"{n}:" + "".join(chr(97 + (n * 7 + i) % 26) for i in range(64))) * 64
        while True:
            try:
                p.produce(topic, partition=0, key=str(n), value=value[:VALUE].encode(),
                          on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        if n % 100 == 99:
            p.flush(30)
            if stop_on_error and errors:
                break
    left = p.flush(30)
    check(left == 0, f"{topic}: {left} deliveries still outstanding")
    return acked, errors


def mirror_partitions(ferry_bin, data_dir):
    """(topic, partition) pairs `ferry mirror status --json` lists for the gateway."""
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=10)
    try:
        status = json.loads(r.stdout) if r.stdout else {}
    except ValueError:
        return set()
    return {(p["topic"], p["partition"]) for m in status.get("mirrors", [])
            for p in m.get("partitions", [])}


def refuse_phase(args, workdir):
    step("refuse: producers get KAFKA_STORAGE_ERROR before the disk is full; nothing is lost")
    wrapper = tmpfs_wrapper(args.ferry, workdir)
    target_port = free_port()  # nothing listens: the target is unreachable
    gateway = Ferry(wrapper, config_text=gateway_config(target_port))
    with gateway:
        admin_create_topic(gateway.bootstrap, "d.refuse", 1)
        # Not idempotent and no retries: each refused record is reported with the broker's
        # error code (a retrying producer would keep retrying it).
        acked, errors = produce(gateway.bootstrap, "d.refuse", 0, 6000,
                                {"retries": 0, "enable.idempotence": False})
        print(f"  acknowledged {len(acked)} records, refused: {errors}", flush=True)
        check("KAFKA_STORAGE_ERROR" in errors, f"producers got KAFKA_STORAGE_ERROR ({errors})")
        check(set(errors) == {"KAFKA_STORAGE_ERROR"}, f"only KAFKA_STORAGE_ERROR ({errors})")
        acked_bytes = len(acked) * VALUE
        limit = TMPFS_BYTES - MIN_FREE + SEGMENT
        check(acked_bytes <= limit,
              f"refused before the disk filled: {acked_bytes} bytes acknowledged, at most {limit}")
        log = gateway.log_text()
        check("data directory nearly full" in log, "the gateway logged that the disk is nearly full")
        check("dropped" not in log, "refuse dropped nothing")
        check("disk full, appends paused" not in log,
              "the policy refused before a write hit ENOSPC")
        # Every acknowledged record is still stored, in order.
        got = consume_assigned(gateway.bootstrap, "d.refuse", 1, {0: len(acked)})
        keys = [int(m[1]) for m in got[0]]
        check_eq(keys, sorted(acked), "acknowledged records read back")
        check_eq(sorted(acked), list(range(len(acked))), "the acknowledged records are 0..n-1")
        # Still refused while the backlog is kept.
        acked2, errors2 = produce(gateway.bootstrap, "d.refuse", 100000, 20,
                                  {"retries": 0, "enable.idempotence": False})
        check(not acked2 and errors2.get("KAFKA_STORAGE_ERROR") == 20,
              f"still refused while the target is away ({errors2})")


def drop_phase(args, workdir):
    step("drop_oldest: the oldest segments go, ranges logged, produce continues, the mirror "
         "continues from the new log start")
    wrapper = tmpfs_wrapper(args.ferry, workdir)
    target_port = free_port()
    gateway = Ferry(wrapper, config_text=gateway_config(target_port))
    with gateway:
        admin_create_topic(gateway.bootstrap, "d.ring", 1, {"disk.full.policy": "drop_oldest"})
        # The mirror finds new topics by polling; produce once it forwards (holds the floor of)
        # d.ring-0. Its status file is on the tmpfs, reached through the process's root.
        status_dir = f"/proc/{gateway.proc.pid}/root{os.path.abspath(gateway.data_dir)}"
        wait_for(lambda: ("d.ring", 0) in mirror_partitions(args.ferry, status_dir), 30,
                 "the mirror has found d.ring-0")
        total = 3 * TMPFS_BYTES // VALUE  # three times what the tmpfs holds
        acked, errors = produce(gateway.bootstrap, "d.ring", 0, total, {"enable.idempotence": True},
                                stop_on_error=True)
        check(not errors, f"every record acknowledged ({errors})")
        check_eq(len(acked), total, "acknowledged records")
        log = gateway.log_text()
        drops = [(int(a), int(b)) for a, b in
                 re.findall(r"dropped d\.ring-0 offsets (\d+) to (\d+) \(\d+ bytes\)", log)]
        print(f"  {len(drops)} segments dropped, offsets {drops[0] if drops else None} .. "
              f"{drops[-1] if drops else None}", flush=True)
        check(len(drops) >= 2, "several segments were dropped")
        check_eq(drops[0][0], 0, "the first dropped range starts at offset 0")
        gaps = [(b0, a1) for (_, b0), (a1, _) in zip(drops, drops[1:]) if a1 != b0 + 1]
        check(not gaps, f"dropped ranges are contiguous, oldest first (breaks: {gaps[:3]})")
        check("were not yet forwarded by the mirror" in log, "the unforwarded range is named")
        new_start = drops[-1][1] + 1
        check(new_start < total, "the newest records are kept")

        step("the target comes up: the mirror logs the gap and forwards from the new log start")
        central = Ferry(args.ferry, port=target_port)
        with central:
            want = total - new_start
            wait_for(lambda: "continuing at " + str(new_start) in gateway.log_text(), 60,
                     "the mirror logs the dropped range and continues")
            got = consume_assigned(central.bootstrap, "site.d.ring", 1, {0: want}, timeout_s=90)
            keys = [int(m[1]) for m in got[0]]
            check_eq(keys, list(range(new_start, total)),
                     "the target holds every record from the new log start, once, in order")


def body(args):
    if not tmpfs_possible():
        print("SKIP: cannot mount a tmpfs in a user namespace here (unshare -rm)", flush=True)
        sys.exit(77)
    workdir = tempfile.mkdtemp(prefix="ferry-diskfull-")
    try:
        refuse_phase(args, workdir)
        drop_phase(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main("disk-full policies of mirrored topics on a small tmpfs", body)
