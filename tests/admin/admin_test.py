#!/usr/bin/python3
"""The admin listener end to end against `ferry serve`: /health/live and /health/ready, /metrics
validated by `promtool check metrics` and checked against what the test did (records produced,
a group's lag after consuming half), /v1/status, the HTTP rules (405, 431, 404, HEAD,
keep-alive, Connection: close), basic authentication, and the refusal of a non-loopback
admin.listen without admin.allow.remote.

Usage: admin_test.py FERRY_BINARY. Exit 77 (skipped) without promtool."""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from admin_broker import AdminBroker

FERRY = sys.argv[1]
fails = 0


def check(what, cond, detail=""):
    global fails
    if cond:
        print(f"ok: {what}")
    else:
        fails += 1
        print(f"FAIL: {what} {detail}")


def Broker(work, extra=""):
    return AdminBroker(FERRY, work, extra)


def get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def raw(port, data, read_until_close=True):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_until_close:
                break
        return out.decode(errors="replace")


def metric(text, name, labels):
    """The value of the sample `name` whose labels include `labels` (dict), or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def main():
    if shutil.which("promtool") is None:
        print("SKIP: promtool not installed (Debian package prometheus)")
        return 77
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    work = tempfile.mkdtemp(prefix="ferry-admin-test-")
    brokers = []
    try:
        b = Broker(work)
        brokers.append(b)
        bs = f"127.0.0.1:{b.port}"

        status, body, _ = get(b.admin, "/health/live")
        check("/health/live answers 200", status == 200 and body == "ok\n", body)
        status, body, _ = get(b.admin, "/health/ready")
        check("/health/ready answers 200 once started", status == 200, body)

        admin = AdminClient({"bootstrap.servers": bs})
        for f in admin.create_topics([NewTopic("t", 1, 1)]).values():
            f.result(15)
        n = 1000
        p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "acks": "all"})
        for i in range(n):
            p.produce("t", value=b"x" * 100, key=str(i).encode())
        check("producer flushed", p.flush(30) == 0)

        c = Consumer({"bootstrap.servers": bs, "group.id": "g", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("t", 0, 0)])
        got = 0
        deadline = time.monotonic() + 30
        while got < n // 2 and time.monotonic() < deadline:
            for m in c.consume(n // 2 - got, 1.0):
                if m.error() is None:
                    got += 1
        check("consumed half", got == n // 2, got)
        c.commit(offsets=[TopicPartition("t", 0, n // 2)], asynchronous=False)
        c.close()

        status, text, headers = get(b.admin, "/metrics")
        check("/metrics answers 200", status == 200)
        check("/metrics content type is the text format 0.0.4",
              headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
              headers.get("Content-Type"))
        rc, out = promtool_check(text)
        check("promtool check metrics accepts /metrics", rc == 0, out)
        tp = {"topic": "t", "partition": "0"}
        check("produced records counted",
              metric(text, "ferry_topic_produced_records_total", {"topic": "t"}) == n,
              metric(text, "ferry_topic_produced_records_total", {"topic": "t"}))
        check("log end offset", metric(text, "ferry_partition_log_end_offset", tp) == n)
        check("high watermark", metric(text, "ferry_partition_high_watermark", tp) == n)
        # Stored as LZ4 (the default compression.type): far below the 100 bytes sent per value.
        size = metric(text, "ferry_partition_size_bytes", tp) or 0
        check("partition size counted, LZ4 smaller than sent", 0 < size < 100 * n, size)
        check("flash accounting: log appends are the partition's bytes",
              metric(text, "ferry_data_written_bytes_total", {"kind": "log_append"}) == size,
              metric(text, "ferry_data_written_bytes_total", {"kind": "log_append"}))
        check("flash accounting: meta.db WAL written (topic, offsets)",
              (metric(text, "ferry_data_written_bytes_total", {"kind": "meta_wal"}) or 0) > 0)
        check("one segment", metric(text, "ferry_partition_segments", tp) == 1)
        check("fetched records >= half",
              (metric(text, "ferry_topic_fetched_records_total", {"topic": "t"}) or 0) >= n // 2)
        g = {"group": "g", "topic": "t", "partition": "0"}
        check("group committed offset", metric(text, "ferry_group_committed_offset", g) == n // 2)
        check("group lag after consuming half", metric(text, "ferry_group_lag", g) == n // 2,
              metric(text, "ferry_group_lag", g))
        check("Produce requests counted",
              (metric(text, "ferry_api_requests_total", {"api": "Produce"}) or 0) >= 1)
        produce_count = metric(text, "ferry_api_request_duration_seconds_count", {"api": "Produce"})
        check("Produce latency histogram has every request",
              produce_count == metric(text, "ferry_api_requests_total", {"api": "Produce"}))
        check("fsyncs counted (acks=all)",
              (metric(text, "ferry_fsync_duration_seconds_count", {}) or 0) >= 1)
        check("PLAINTEXT listener up",
              metric(text, "ferry_listener_up", {"listener": "PLAINTEXT"}) == 1)
        check("resident memory reported",
              (metric(text, "ferry_process_resident_memory_bytes", {}) or 0) > 1 << 20)
        check("build info", metric(text, "ferry_build_info", {}) == 1)
        # One definition: `ferry --version` and ferry_build_info name the same version and commit.
        ver = subprocess.run([FERRY, "--version"], capture_output=True, text=True).stdout
        vm = re.match(r"ferry (\S+) \(commit (\S+),", ver)
        check("--version parses", vm is not None, ver)
        if vm:
            check("build info = --version",
                  metric(text, "ferry_build_info", {"version": vm.group(1),
                                                    "commit": vm.group(2)}) == 1,
                  f"{ver.strip()} vs {[l for l in text.splitlines() if 'build_info{' in l]}")
        check("ready gauge", metric(text, "ferry_ready", {}) == 1)

        status, body, _ = get(b.admin, "/v1/status")
        s = json.loads(body)
        check("/v1/status answers JSON", status == 200 and "broker" in s, body[:200])
        topic = [t for t in s["topics"] if t["name"] == "t"]
        check("/v1/status topic offsets",
              topic and topic[0]["partitions"][0]["log_end_offset"] == n, body[:400])
        group = [x for x in s["groups"] if x["group"] == "g"]
        check("/v1/status group lag", group and group[0]["lag"] == n // 2, body[-400:])
        written = s["broker"].get("data_written_bytes", {})
        check("/v1/status data_written_bytes by kind",
              written.get("log_append") == size and
              written.get("total") == sum(v for k, v in written.items() if k != "total"), written)
        check("/v1/status listeners",
              s["broker"]["listeners"][0]["port"] == b.port and s["broker"]["ready"])

        # The HTTP rules.
        r = raw(b.admin, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        check("POST answers 405 with Allow", r.startswith("HTTP/1.1 405") and "Allow: GET, HEAD" in r,
              r[:100])
        r = raw(b.admin, b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        check("oversized header answers 431", r.startswith("HTTP/1.1 431"), r[:100])
        r = raw(b.admin, b"GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        check("unknown path answers 404", r.startswith("HTTP/1.1 404"), r[:100])
        r = raw(b.admin, b"GET /x HTTP/1.1\r\n\x01\r\n\r\n")
        check("malformed request answers 400", r.startswith("HTTP/1.1 400"), r[:100])
        r = raw(b.admin, b"HEAD /health/live HTTP/1.1\r\nConnection: close\r\n\r\n")
        check("HEAD: headers only", r.endswith("\r\n\r\n") and "Content-Length: 3" in r, r)
        r = raw(b.admin, b"GET /health/live HTTP/1.1\r\n\r\nGET /health/live HTTP/1.1\r\n"
                b"Connection: close\r\n\r\n")
        check("keep-alive: two pipelined answers, then close",
              r.count("HTTP/1.1 200") == 2 and "Connection: close" in r, r)
        # Every connection above was closed by the server (raw() reads until EOF).

        # Basic authentication.
        pw = os.path.join(work, "admin.password")
        with open(pw, "w") as f:
            f.write("s3cret\n")
        a = Broker(work, f'admin.basic.auth.user = "ops"\nadmin.basic.auth.password.file = "{pw}"')
        brokers.append(a)
        status, _, headers = get(a.admin, "/metrics")
        check("basic auth: 401 without credentials",
              status == 401 and "Basic" in headers.get("WWW-Authenticate", ""))
        bad = {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()}
        check("basic auth: 401 with a wrong password", get(a.admin, "/metrics", bad)[0] == 401)
        good = {"Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()}
        check("basic auth: 200 with the password", get(a.admin, "/v1/status", good)[0] == 200)
        check("basic auth: health checks open", get(a.admin, "/health/live")[0] == 200)

        # A non-loopback address without admin.allow.remote is refused at start.
        conf = os.path.join(work, "remote.toml")
        with open(conf, "w") as f:
            f.write(f'[broker]\ndata.dir = "{work}/remote"\nlisten = "127.0.0.1:0"\n'
                    'admin.listen = "0.0.0.0:0"\n')
        p = subprocess.run([FERRY, "serve", "--config", conf], capture_output=True, timeout=30)
        err = p.stderr.decode() + p.stdout.decode()
        check("non-loopback admin.listen refused with file:line: key: message",
              p.returncode != 0 and re.search(r"remote\.toml:4: admin\.listen: .*admin\.allow\.remote",
                                              err), err)
    finally:
        for b in brokers:
            b.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{fails} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
