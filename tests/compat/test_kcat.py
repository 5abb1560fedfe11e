#!/usr/bin/python3
# kcat 1.7.1 (librdkafka 2.0.2) against ferry: metadata listing (text and JSON), keyed produce
# of a file with each compression codec to a 3-partition topic, consume from the beginning with
# exact content, per-partition order and counts, headers, and offsets by timestamp (-Q).
import json
import os
import re

import harness
from harness import check, check_eq, run, step

N = 300          # lines per topic
CHUNKS = 3       # kcat runs per topic
KEYS = 12        # distinct keys, so all 3 partitions get records
CODECS = ["none", "lz4", "gzip", "snappy", "zstd"]
FMT = r"%p\t%o\t%T\t%k\t%h\t%s\n"


def lines_for(codec):
    # Repetitive values compress well, so the compressed topics are visibly smaller on disk.
    return [f"k{i % KEYS}:{codec}-{i:05d}-" + "x" * 100 for i in range(N)]


def consume(bootstrap, topic, count):
    p = run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", FMT], timeout_s=30)
    rows = []
    for line in p.stdout.decode().splitlines():
        part, off, ts, key, hdrs, value = line.split("\t", 5)
        rows.append((int(part), int(off), int(ts), key, hdrs, value))
    check_eq(len(rows), count, f"{topic}: kcat consumed {count} messages")
    return rows


def topic_bytes_on_disk(data_dir, topic):
    """Bytes of the topic's partition directories (logs/<topic>-<p>), or None if the layout is
    different from what this expects."""
    logs = os.path.join(data_dir, "logs")
    if not os.path.isdir(logs):
        return None
    total, found = 0, False
    for d in os.listdir(logs):
        if re.fullmatch(re.escape(topic) + r"-\d+", d):
            found = True
            for root, _, files in os.walk(os.path.join(logs, d)):
                for f in files:
                    if f.endswith(".log"):
                        total += os.path.getsize(os.path.join(root, f))
    return total if found else None


def check_partitioned(topic, produced, rows):
    """Every line arrived once, each key in exactly one partition, each partition's offsets are
    0..n-1 and its values in produce order."""
    by_part = {}
    key_parts = {}
    for part, off, _, key, _, value in rows:
        by_part.setdefault(part, []).append((off, f"{key}:{value}"))
        key_parts.setdefault(key, set()).add(part)
    check(all(len(ps) == 1 for ps in key_parts.values()),
          f"{topic}: each of the {len(key_parts)} keys in exactly one partition")
    key_part = {k: next(iter(ps)) for k, ps in key_parts.items()}
    check_eq(sorted(f"{k}:{v}" for _, _, _, k, _, v in rows), sorted(produced),
             f"{topic}: consumed lines equal the {len(produced)} produced lines")
    check(len(by_part) == 3, f"{topic}: records in all 3 partitions "
          f"(counts {dict(sorted((p, len(v)) for p, v in by_part.items()))})")
    for part, recs in sorted(by_part.items()):
        check_eq([o for o, _ in recs], list(range(len(recs))),
                 f"{topic}[{part}]: offsets 0..{len(recs) - 1} in order")
        want = [l for l in produced if key_part[l.split(":", 1)[0]] == part]
        check_eq([v for _, v in recs], want, f"{topic}[{part}]: {len(recs)} values in produce order")
    return by_part


def query_offset(bootstrap, topic, part, ts):
    p = run(["kcat", "-Q", "-b", bootstrap, "-t", f"{topic}:{part}:{ts}"], timeout_s=30)
    m = re.search(r"offset (-?\d+)", p.stdout.decode())
    if not m:
        raise harness.CheckFailed(f"kcat -Q printed no offset: {p.stdout!r} {p.stderr!r}")
    return int(m.group(1))


def body(args):
    with harness.Ferry(args.ferry) as ferry:
        b = ferry.bootstrap
        step("metadata listing")
        # compression.type=producer: each topic keeps the codec kcat sent (ferry's default, lz4,
        # would store every topic as LZ4; test_broker_compression.py covers that).
        harness.admin_create_topic(b, "kcat-none", 3, {"compression.type": "producer"})
        out = run(["kcat", "-L", "-b", b], timeout_s=30).stdout.decode()
        print("  " + out.replace("\n", "\n  "))
        check(re.search(rf"broker \d+ at 127\.0\.0\.1:{ferry.port}", out) is not None,
              f"kcat -L lists the broker at 127.0.0.1:{ferry.port}")
        check('topic "kcat-none" with 3 partitions' in out, "kcat -L lists kcat-none with 3 partitions")
        meta = json.loads(run(["kcat", "-L", "-J", "-b", b], timeout_s=30).stdout)
        brokers = meta.get("brokers", [])
        check_eq([br["name"] for br in brokers], [f"127.0.0.1:{ferry.port}"],
                 "kcat -L -J: one broker with the advertised address")
        topics = {t["topic"]: t for t in meta.get("topics", [])}
        check("kcat-none" in topics, "kcat -L -J lists kcat-none")
        parts = sorted(p["partition"] for p in topics["kcat-none"]["partitions"])
        check_eq(parts, [0, 1, 2], "kcat -L -J: kcat-none has partitions 0,1,2")
        leaders = {p["leader"] for p in topics["kcat-none"]["partitions"]}
        check_eq(leaders, {brokers[0]["id"]}, "every partition led by the one broker")

        sizes = {}
        for codec in CODECS:
            topic = f"kcat-{codec}"
            step(f"produce {N} keyed lines with -z {codec} to {topic}")
            if codec != "none":
                harness.admin_create_topic(b, topic, 3, {"compression.type": "producer"})
            produced = lines_for(codec)
            # Three files, one kcat run each: the runs' records get distinct timestamps, which
            # the offsets-by-timestamp checks below use.
            for c in range(CHUNKS):
                chunk = produced[c * N // CHUNKS:(c + 1) * N // CHUNKS]
                path = os.path.join(ferry.workdir, f"{topic}-{c}.txt")
                with open(path, "w") as f:
                    f.write("\n".join(chunk) + "\n")
                cmd = ["kcat", "-P", "-b", b, "-t", topic, "-K", ":", "-l", path,
                       "-X", "linger.ms=20", "-H", f"codec={codec}"]
                if codec != "none":
                    cmd += ["-z", codec]
                run(cmd, timeout_s=60)
            step(f"consume {topic} from the beginning")
            rows = consume(b, topic, N)
            check(all(r[4] == f"codec={codec}" for r in rows), f"{topic}: header codec={codec} on every record")
            by_part = check_partitioned(topic, produced, rows)
            sizes[codec] = topic_bytes_on_disk(ferry.data_dir, topic)

            step(f"offsets by timestamp on {topic}")
            for part, recs in sorted(by_part.items()):
                check_eq(query_offset(b, topic, part, -2), 0, f"{topic}[{part}]: earliest (-2) is 0")
                check_eq(query_offset(b, topic, part, -1), len(recs),
                         f"{topic}[{part}]: latest (-1) is {len(recs)}")
            part0 = [r for r in rows if r[0] == 0]
            stamps = sorted({r[2] for r in part0})
            check(len(stamps) >= 2, f"{topic}[0]: records carry {len(stamps)} distinct timestamps")
            for ts in stamps + [stamps[0] - 1, stamps[-1] - 1]:
                want = min(r[1] for r in part0 if r[2] >= ts)
                check_eq(query_offset(b, topic, 0, ts), want,
                         f"{topic}[0]: first offset with timestamp >= {ts} is {want}")
            later = max(r[2] for r in part0) + 60_000
            check_eq(query_offset(b, topic, 0, later), -1,
                     f"{topic}[0]: a timestamp after every record gives offset -1")

        step("compressed batches are stored compressed")
        print(f"  on-disk .log bytes per topic: {sizes}")
        if sizes.get("none") is None:
            print("  (partition directories not found as logs/<topic>-<p>; size check skipped)")
        else:
            for codec in CODECS[1:]:
                check(sizes[codec] is not None and sizes[codec] < sizes["none"] // 2,
                      f"kcat-{codec} takes less than half the bytes of kcat-none "
                      f"({sizes[codec]} < {sizes['none']} / 2): the batches were compressed")


if __name__ == "__main__":
    harness.main("kcat against ferry", body)
