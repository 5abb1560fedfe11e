# What the mirror scripts share: reading `ferry mirror status --json` of a gateway (the status
# file its broker rewrites every second) as a whole, per mirror, or per partition.
import json
import subprocess


def mirror_status(ferry_bin, data_dir, timeout_s=10):
    """The parsed `ferry mirror status --json` of the gateway in data_dir; None when there is
    none yet (no status file, or one too old: the command exits 1 without JSON)."""
    r = subprocess.run([ferry_bin, "mirror", "status", "--json", "--data-dir", data_dir],
                       capture_output=True, timeout=timeout_s)
    try:
        return json.loads(r.stdout) if r.stdout else None
    except ValueError:
        return None


def mirrors_of(status):
    """{mirror name: its object} of a status (empty for None)."""
    return {m["name"]: m for m in (status or {}).get("mirrors", [])}


def status_partitions(ferry_bin, data_dir, topic=None):
    """{(topic, partition): partition object} over every mirror, of `topic` only when given."""
    return {(p["topic"], p["partition"]): p
            for m in mirrors_of(mirror_status(ferry_bin, data_dir)).values()
            for p in m["partitions"] if topic is None or p["topic"] == topic}
