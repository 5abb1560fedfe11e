#!/usr/bin/python3
"""The status page at "/" rendered by headless Chromium against a running `ferry serve` with
traffic: produces records to a topic, makes a consumer group that committed half of them (so it
has a lag), logs a warning, then loads the page with --dump-dom and checks the rendered DOM for
the figures the test caused (the topic, its record count and size, the group's lag, the warning
in the recent errors), that the page's script ran (the rows only exist once it rendered
/v1/status), and with basic authentication on, that the page renders with credentials. Saves a
phone-sized screenshot (412x915) as an artifact next to the test binary.

Usage: status_page_test.py FERRY_BINARY [SCREENSHOT_DIR]. Exit 77 (skipped) without chromium."""
import html.parser
import os
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
SHOT_DIR = sys.argv[2] if len(sys.argv) > 2 else os.getcwd()
fails = 0
TOPIC = "page-topic"
GROUP = "page-group"
N = 400
VALUE = b"v" * 50


def check(what, cond, detail=""):
    global fails
    if cond:
        print(f"ok: {what}")
    else:
        fails += 1
        print(f"FAIL: {what} {detail}")


def Broker(work, extra=""):
    return AdminBroker(FERRY, work, extra)


class Dom(html.parser.HTMLParser):
    """Cells by (row attribute value, data-field): their data-value and text."""

    def __init__(self):
        super().__init__()
        self.row = None
        self.cell = None
        self.cells = {}
        self.body = {}
        self.text = []
        self.errors = []  # the recent-errors rows: {field: text}
        self.ids = {}  # text of elements with an id (direct text only)
        self.id_now = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.id_now = a.get("id")
        if self.id_now:
            self.ids[self.id_now] = ""
        if tag == "body":
            self.body = a
        if tag == "tr":
            self.row = next((a[k] for k in ("data-topic", "data-group", "data-group-partition",
                                            "data-mirror", "data-error") if k in a), None)
        if tag == "tr" and "data-error" in a:
            self.errors.append({})
        if tag in ("td", "div") and "data-field" in a and self.row is not None:
            self.cell = (self.row, a["data-field"])
            self.cells[self.cell] = {"value": a.get("data-value"), "text": ""}
        if tag == "div" and "data-card" in a:
            self.cell = ("card", a["data-card"])
            self.cells[self.cell] = {"value": a.get("data-value"), "text": ""}

    def handle_endtag(self, tag):
        self.id_now = None
        if tag in ("td", "div"):
            self.cell = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        self.text.append(data)
        if self.id_now:
            self.ids[self.id_now] += data
        if self.cell is not None:
            self.cells[self.cell]["text"] += data
            if self.row in ("warn", "error") and self.errors:
                f = self.cell[1]
                self.errors[-1][f] = self.errors[-1].get(f, "") + data


def chromium(url, extra, timeout=25):
    """Runs headless Chromium once; returns (returncode, stdout)."""
    profile = tempfile.mkdtemp(prefix="ferry-chromium-")
    try:
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--metrics-recording-only",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000"] + extra + [url]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def traffic(bs):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bs})
    # Stored as sent (compression.type=producer), so the topic's size covers the values' bytes.
    topic = NewTopic(TOPIC, 2, 1, config={"compression.type": "producer"})
    for f in admin.create_topics([topic]).values():
        f.result(15)
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "acks": "all"})
    for i in range(N):
        p.produce(TOPIC, value=VALUE, key=str(i).encode(), partition=i % 2)
    check("producer flushed", p.flush(30) == 0)
    # The group commits half of partition 0 and nothing else: lag N/2 + N/4 = 300 records.
    c = Consumer({"bootstrap.servers": bs, "group.id": GROUP, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(TOPIC, 0, N // 4), TopicPartition(TOPIC, 1, 0)],
             asynchronous=False)
    c.close()


def main():
    if shutil.which("chromium") is None:
        print("SKIP: chromium not installed (Debian package chromium)")
        return 77
    work = tempfile.mkdtemp(prefix="ferry-page-test-")
    brokers = []
    try:
        # Basic authentication on: the page and /v1/status need it, as Chromium is given it.
        pw = os.path.join(work, "admin.pw")
        with open(pw, "w") as f:
            f.write("s3cret\n")
        b = Broker(work, f'admin.basic.auth.user = "ops"\nadmin.basic.auth.password.file = "{pw}"\n'
                         'log.dir.min.free.bytes = 0')
        brokers.append(b)
        traffic(f"127.0.0.1:{b.port}")
        # A warning in the log: a frame with a negative size is refused at WARN by "net".
        with socket.create_connection(("127.0.0.1", b.port), timeout=5) as s:
            s.sendall(b"\xff\xff\xff\xf0" + b"x" * 16)
            try:
                s.recv(16)
            except OSError:
                pass

        # Without credentials the page is refused.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{b.admin}/", timeout=5)
            check("the page needs credentials", False)
        except urllib.error.HTTPError as e:
            check("the page needs credentials", e.code == 401, str(e.code))

        url = f"http://ops:s3cret@127.0.0.1:{b.admin}/?every=1"
        start = time.monotonic()
        rc, dom_text, err = chromium(url, ["--dump-dom"])
        took = time.monotonic() - start
        check(f"chromium rendered the page ({took:.1f} s)", rc == 0 and "<body" in dom_text,
              err[-2000:])
        dom = Dom()
        dom.feed(dom_text)
        cells = dom.cells
        loaded = int(dom.body.get("data-loaded", "0") or 0)
        check("the page's script rendered /v1/status", loaded >= 1, str(dom.body))
        check("the page polled again (rates need two polls)", loaded >= 2, str(dom.body))

        def value(row, field):
            return (cells.get((row, field)) or {}).get("value")

        def text(row, field):
            return (cells.get((row, field)) or {}).get("text", "").strip()

        check("topic row names the topic", text(TOPIC, "name") == TOPIC, str(cells.keys()))
        check("topic records = produced", value(TOPIC, "records") == str(N),
              f"{value(TOPIC, 'records')!r}")
        check("topic records formatted", text(TOPIC, "records") == f"{N:,}", text(TOPIC, "records"))
        check("topic partitions", value(TOPIC, "partitions") == "2")
        size = int(value(TOPIC, "size") or 0)
        check("topic size at least the values' bytes", size >= N * len(VALUE), str(size))
        check("topic size shown in KiB", text(TOPIC, "size").endswith("KiB"), text(TOPIC, "size"))
        check("produced counter", value(TOPIC, "produced") == str(N), value(TOPIC, "produced"))
        check("rate shown after two polls", value(TOPIC, "in_rate") not in (None, ""),
              str(value(TOPIC, "in_rate")))
        lag = N // 2 - N // 4 + N // 2
        check("group lag", value(GROUP, "lag") == str(lag), f"{value(GROUP, 'lag')!r} != {lag}")
        check("group partition 0 lag", value(f"{GROUP}/{TOPIC}/0", "lag") == str(N // 2 - N // 4))
        check("group partition 0 committed",
              value(f"{GROUP}/{TOPIC}/0", "committed") == str(N // 4))
        check("summary card: topics", value("card", "topics") == "1")
        check("summary card: total lag", value("card", "lag") == str(lag))
        warn = [r for r in dom.errors if r.get("level") == "WARN" and r.get("module") == "net"]
        check("recent errors list the warning", any("invalid frame size -16" in r.get("message", "")
                                                    for r in warn), str(dom.errors))
        check("mirrors: none configured, none down", value("card", "mirrors_down") == "0" and
              not any(k for k in cells if k[1] == "link_state"))
        check("ready badge", dom.ids.get("ready") == "ready", str(dom.ids.get("ready")))
        check("no error banner", dom.ids.get("banner", "") == "", dom.ids.get("banner"))

        os.makedirs(SHOT_DIR, exist_ok=True)
        shot = os.path.join(SHOT_DIR, "status_page_phone.png")
        if os.path.exists(shot):
            os.unlink(shot)
        rc, _, err = chromium(url, [f"--screenshot={shot}", "--window-size=412,915",
                                    "--hide-scrollbars"])
        ok = rc == 0 and os.path.exists(shot) and os.path.getsize(shot) > 5000
        check(f"screenshot saved to {shot}", ok, err[-2000:])
        if ok:
            with open(shot, "rb") as f:
                check("screenshot is a PNG", f.read(8) == b"\x89PNG\r\n\x1a\n")
    finally:
        for b in brokers:
            b.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS" if fails == 0 else f"{fails} FAILED")
    return 0 if fails == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
