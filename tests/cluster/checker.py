# The checker of the fault harness: given the histories the workload clients wrote during a run
# (workload.py, kafkajs_producer.js), the final read made after healing, and (for a cluster) each
# replica's log bytes, reports every anomaly it finds. Kinds:
#
#   lost               an acknowledged record is not in the final log
#   wrong-offset       an acknowledged record is in the final log, but not at the offset its
#                      acknowledgement gave
#   duplicate          a record (producer instance, partition, sequence) at more than one offset
#                      (not one the client's own answer reported at exactly those offsets: a
#                      `client-resend` event of kafkajs_producer.js, counted as client_resends)
#   reordered          one producer instance's records of a partition not in sequence order
#   gap                a sequence missing between two present ones of a producer instance and
#                      partition, whose send was neither acknowledged nor failed (acknowledged
#                      ones are `lost`; a failed send may or may not be stored)
#   phantom            a record nobody sent, or in another partition than it was sent to
#   truncated-seen     a consumer saw a record at an offset where the final log holds another
#                      record or none (it read something that was later truncated)
#   commit-backwards   a group's committed offset of a partition went down: two successful
#                      commits that did not overlap in time, or two observations in a row
#   commit-beyond-end  a group's committed offset above the partition's final log end
#   unseen-below-commit a record below the group's final committed offset no member saw
#                      (commits follow processing, so the group skipped it)
#   stuck-consumer     the group's committed offset never reached the log end after healing
#                      (its last record: offsets after it that hold no record do not count)
#   final-incomplete   the final read did not reach the high watermark
#   replica-divergence two replicas hold different batches below the high watermark
#   replica-behind     a replica holds fewer batches below the high watermark than another
#
# Library use: check(History) -> Report. Command line: checker.py HISTORY_DIR [--json OUT]
# reads the files nemesis.py writes there (producer-*.jsonl, consumer-*.jsonl,
# observer-*.jsonl, final.jsonl, replicas.json) and exits 1 when it found anomalies.
import argparse
import bisect
import glob
import json
import os
import sys
from collections import defaultdict

MAX_SHOWN = 10  # anomalies printed per kind


class History:
    """Everything the checker reads. Events are the dicts of the JSON-lines files.
    final: {partition: {offset: value}}; marks: {partition: (low, high)} of the final read;
    replicas: {partition: {node: [batch bytes, ...]}} below the high watermark, or None;
    drained: the runner waited for the group to catch up, so a lag is an anomaly."""

    def __init__(self, producer_events=(), consumer_events=(), observer_events=(), final=None,
                 marks=None, final_complete=True, replicas=None, drained=True):
        self.producer_events = list(producer_events)
        self.consumer_events = list(consumer_events)
        self.observer_events = list(observer_events)
        self.final = final or {}
        self.marks = marks or {p: (min(r, default=0), max(r, default=-1) + 1)
                               for p, r in self.final.items()}
        self.final_complete = final_complete
        self.replicas = replicas
        self.drained = drained


class Report:
    def __init__(self):
        self.anomalies = []
        self.stats = defaultdict(int)

    def add(self, kind, **detail):
        detail["kind"] = kind
        self.anomalies.append(detail)

    def kinds(self):
        out = defaultdict(int)
        for a in self.anomalies:
            out[a["kind"]] += 1
        return dict(out)

    @property
    def ok(self):
        return not self.anomalies

    def text(self):
        lines = ["checker: " + ", ".join(f"{k} {v}" for k, v in sorted(self.stats.items()))]
        shown = defaultdict(int)
        for a in self.anomalies:
            shown[a["kind"]] += 1
            if shown[a["kind"]] <= MAX_SHOWN:
                fields = " ".join(f"{k}={v}" for k, v in a.items() if k != "kind")
                lines.append(f"  ANOMALY {a['kind']}: {fields}")
        for kind, n in sorted(self.kinds().items()):
            if n > MAX_SHOWN:
                lines.append(f"  ... {n - MAX_SHOWN} more {kind}")
        lines.append("checker: OK, no anomalies" if self.ok else
                     "checker: FAILED: " + ", ".join(f"{k} x{n}"
                                                     for k, n in sorted(self.kinds().items())))
        return "\n".join(lines)


def parse_value(v):
    """(pid, partition, seq) of a workload value "PID:PARTITION:SEQ", or None."""
    if not isinstance(v, str):
        return None
    parts = v.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


def check_producers(h, r):
    """lost, wrong-offset, duplicate, reordered, gap, phantom."""
    outcome = {}  # (pid, p, seq) -> ("ack", offset) | ("fail", err) | ("unknown", None)
    resent = {}  # (pid, p, seq) -> offsets the client's own answer gave for one send
    for e in h.producer_events:
        t = e.get("type")
        if t == "client-resend":
            resent[(e["pid"], e["p"], e["seq"])] = set(e["offsets"])
            continue
        if t not in ("send", "ack", "fail"):
            continue
        key = (e["pid"], e["p"], e["seq"])
        if t == "send":
            outcome.setdefault(key, ("unknown", None))
        elif t == "ack":
            outcome[key] = ("ack", e["o"])
        elif outcome.get(key, ("unknown",))[0] != "ack":
            outcome[key] = ("fail", e.get("err"))
    r.stats["sent"] = len(outcome)
    r.stats["acked"] = sum(1 for o in outcome.values() if o[0] == "ack")
    r.stats["failed"] = sum(1 for o in outcome.values() if o[0] == "fail")
    r.stats["unknown"] = sum(1 for o in outcome.values() if o[0] == "unknown")

    where = defaultdict(list)  # (pid, p, seq) -> [offsets in the final log]
    for p, records in h.final.items():
        for o in sorted(records):
            key = parse_value(records[o])
            if key is None or key not in outcome or key[1] != p:
                why = ("not sent by any producer" if key is None or key not in outcome
                       else f"sent to partition {key[1]}")
                r.add("phantom", p=p, offset=o, value=records[o], why=why)
                continue
            where[key].append(o)
    r.stats["final_records"] = sum(len(x) for x in h.final.values())

    for key, (kind, info) in sorted(outcome.items()):
        if kind != "ack":
            continue
        pid, p, seq = key
        found = where.get(key, [])
        if not found:
            r.add("lost", pid=pid, p=p, seq=seq, acked_offset=info,
                  final_at_offset=h.final.get(p, {}).get(info, "<none>"))
        elif info not in found:
            r.add("wrong-offset", pid=pid, p=p, seq=seq, acked_offset=info, found_at=found)
    for key, offsets in sorted(where.items()):
        if len(offsets) > 1:
            if set(offsets) == resent.get(key):
                r.stats["client_resends"] += 1
                continue
            r.add("duplicate", pid=key[0], p=key[1], seq=key[2], offsets=offsets)

    by_stream = defaultdict(list)  # (pid, p) -> [(first offset, seq)]
    for (pid, p, seq), offsets in where.items():
        by_stream[(pid, p)].append((offsets[0], seq))
    for (pid, p), items in sorted(by_stream.items()):
        items.sort()
        for (o1, s1), (o2, s2) in zip(items, items[1:]):
            if s2 < s1:
                r.add("reordered", pid=pid, p=p, seq=s2, offset=o2, after_seq=s1, at_offset=o1)
        present = sorted(s for _o, s in items)
        offset_of = {s: o for o, s in items}
        for k in range(present[-1]):
            if (pid, p, k) in where:
                continue
            kind = outcome.get((pid, p, k), ("unknown",))[0]
            if kind in ("ack", "fail"):
                continue  # an acknowledged one is `lost`; a failed one may be missing
            i = bisect.bisect_left(present, k)
            r.add("gap", pid=pid, p=p, seq=k, after_offset=offset_of[present[i - 1]]
                  if i > 0 else None, before_offset=offset_of[present[i]])


def check_consumers(h, r):
    """truncated-seen, phantom (seen), unseen-below-commit."""
    seen = defaultdict(set)  # p -> offsets any member saw
    n = 0
    for e in h.consumer_events:
        if e.get("type") != "seen":
            continue
        n += 1
        p, o, v = e["p"], e["o"], e.get("v")
        seen[p].add(o)
        final_v = h.final.get(p, {}).get(o)
        if final_v != v:
            low, high = h.marks.get(p, (0, 0))
            r.add("truncated-seen", member=e.get("member"), p=p, offset=o, seen=v,
                  final=final_v if o < high else f"<none: final log end {high}>", t=e.get("t"))
    r.stats["seen"] = n
    final_commit = committed_offsets(h)
    for p, c in sorted(final_commit.items()):
        low = h.marks.get(p, (0, 0))[0]
        missing = [o for o in sorted(h.final.get(p, {})) if low <= o < c and o not in seen[p]]
        if missing:
            r.add("unseen-below-commit", p=p, committed=c, count=len(missing),
                  first_offsets=missing[:10])


def committed_offsets(h):
    """{partition: the group's last committed offset} from the observer, else the commits."""
    last = {}
    for e in sorted(h.observer_events, key=lambda e: e.get("t0", e.get("t", 0))):
        if e.get("type") == "observed":
            last[e["p"]] = e["o"]
    if last:
        return last
    for e in sorted(h.consumer_events, key=lambda e: e.get("t1", 0)):
        if e.get("type") == "commit" and "err" not in e and "p" in e:
            last[e["p"]] = e["o"]
    return last


def check_commits(h, r):
    """commit-backwards, commit-beyond-end, stuck-consumer."""
    commits = defaultdict(list)  # p -> [(t0, t1, offset, member)]
    for e in h.consumer_events:
        if e.get("type") == "commit" and "err" not in e and "p" in e:
            commits[e["p"]].append((e["t0"], e["t1"], e["o"], e.get("member")))
    r.stats["commits"] = sum(len(c) for c in commits.values())
    for p, cs in sorted(commits.items()):
        # Y went backwards if some X with X.t1 < Y.t0 committed more than Y.
        by_end = sorted(cs, key=lambda c: c[1])
        best, i = None, 0
        for y in sorted(cs, key=lambda c: c[0]):
            while i < len(by_end) and by_end[i][1] < y[0]:
                if best is None or by_end[i][2] > best[2]:
                    best = by_end[i]
                i += 1
            if best is not None and y[2] < best[2]:
                r.add("commit-backwards", p=p, offset=y[2], member=y[3], t=y[0],
                      after_offset=best[2], after_member=best[3], after_t=best[1])
    observed = defaultdict(list)
    for e in sorted(h.observer_events, key=lambda e: e.get("t0", e.get("t", 0))):
        if e.get("type") == "observed":
            observed[e["p"]].append((e.get("t0", e.get("t")), e["o"]))
    for p, obs in sorted(observed.items()):
        for (t1, o1), (t2, o2) in zip(obs, obs[1:]):
            if o2 < o1:
                r.add("commit-backwards", p=p, offset=o2, t=t2, after_offset=o1, after_t=t1,
                      source="observer")
    for p, c in sorted(committed_offsets(h).items()):
        high = h.marks.get(p, (0, 0))[1]
        if c > high:
            r.add("commit-beyond-end", p=p, committed=c, log_end=high)
        elif h.drained and c < high and any(o >= c for o in h.final.get(p, {})):
            # Offsets above the last record that hold none (a leader's record-less epoch-start
            # batch written after the drain) leave the group nothing to read.
            r.add("stuck-consumer", p=p, committed=c, log_end=high)
    if h.drained and h.consumer_events:
        final_commit = committed_offsets(h)
        for p, (low, high) in sorted(h.marks.items()):
            if high > low and p not in final_commit:
                r.add("stuck-consumer", p=p, committed=None, log_end=high)


def check_replicas(h, r):
    """replica-divergence: the batches two replicas both hold below the high watermark differ;
    replica-behind: a replica holds fewer of them than another (after healing and a settle
    time every replica should have caught up)."""
    if not h.replicas:
        return
    for p, by_node in sorted(h.replicas.items()):
        nodes = sorted(by_node, key=lambda n: (-len(by_node[n]), n))
        ref = nodes[0]  # the longest log
        for other in sorted(nodes[1:]):
            a, b = by_node[ref], by_node[other]
            i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), None)
            if i is not None:
                base = int.from_bytes(a[i][:8], "big", signed=True) if len(a[i]) >= 8 else None
                r.add("replica-divergence", p=p, nodes=sorted([ref, other]), batch_index=i,
                      base_offset=base, batches={ref: len(a), other: len(b)})
            elif len(b) < len(a):
                base = int.from_bytes(a[len(b)][:8], "big", signed=True)
                r.add("replica-behind", p=p, node=other, batches=len(b), of=len(a),
                      missing_from_offset=base, longest=ref)
    r.stats["replica_partitions"] = len(h.replicas)


def check(h):
    r = Report()
    if not h.final_complete:
        r.add("final-incomplete", marks=h.marks)
    check_producers(h, r)
    check_consumers(h, r)
    check_commits(h, r)
    check_replicas(h, r)
    return r


# ---- files -------------------------------------------------------------------------------------

def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a killed client
    return out


def load_dir(d, drained=True):
    """The History of a nemesis run directory."""
    def events(pattern):
        out = []
        for path in sorted(glob.glob(os.path.join(d, pattern))):
            out += read_jsonl(path)
        return out

    final, marks, complete = defaultdict(dict), {}, False
    for e in events("final.jsonl"):
        if e.get("type") == "record":
            final[e["p"]][e["o"]] = e.get("v")
        elif e.get("type") == "final":
            marks = {int(p): tuple(m) for p, m in e["marks"].items()}
            complete = e.get("complete", False)
    for p in marks:
        final.setdefault(p, {})
    replicas = None
    rpath = os.path.join(d, "replicas.json")
    if os.path.exists(rpath):
        with open(rpath) as f:
            raw = json.load(f)
        replicas = {int(p): {int(n): [bytes.fromhex(b) for b in bs] for n, bs in nodes.items()}
                    for p, nodes in raw.items()}
    return History(events("producer-*.jsonl"), events("consumer-*.jsonl"),
                   events("observer-*.jsonl"), dict(final), marks, complete, replicas, drained)


def main(argv):
    ap = argparse.ArgumentParser(description="check a nemesis run's histories")
    ap.add_argument("dir")
    ap.add_argument("--json", help="write the anomalies and stats here")
    ap.add_argument("--not-drained", action="store_true",
                    help="the group was not waited for: a lag is no anomaly")
    a = ap.parse_args(argv)
    report = check(load_dir(a.dir, drained=not a.not_drained))
    print(report.text())
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"stats": report.stats, "anomalies": report.anomalies}, f, indent=1,
                      default=str)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
