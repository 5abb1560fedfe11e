# Shared harness for the real-client compatibility tests: starts `ferry serve` on a fresh data
# directory and a free 127.0.0.1 port, waits until it accepts connections, and stops it again
# (SIGTERM must end it with exit code 0 within a bounded time). Can restart it on the same data
# directory and port, or kill it with SIGKILL. Also small helpers the tests share: checks that
# fail with a message, bounded subprocess runs, and waiting for a condition with a deadline.
#
# Run the tests with /usr/bin/python3: Debian's python3-confluent-kafka and python3-kafka are
# only visible to the system interpreter.
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

STOP_TIMEOUT_S = 15      # SIGTERM to exit
READY_TIMEOUT_S = 20     # start to accepting connections
LOG_TAIL_LINES = 60


class CheckFailed(Exception):
    pass


def check(cond, what):
    """Asserts `cond` (stays on whatever the interpreter flags); prints what was checked."""
    if not cond:
        raise CheckFailed(what)
    print(f"  ok: {what}", flush=True)


def check_eq(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        if len(g) > 600:
            g = g[:600] + "..."
        if len(w) > 600:
            w = w[:600] + "..."
        raise CheckFailed(f"{what}: got {g}, want {w}")
    print(f"  ok: {what}", flush=True)


def step(title):
    print(f"== {title}", flush=True)


def wait_for(pred, timeout_s, what, interval_s=0.05):
    """Polls `pred` until it returns a true value or `timeout_s` passes; returns that value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise CheckFailed(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


def run(cmd, timeout_s=60, input_bytes=None, env=None, cwd=None, check_rc=True):
    """Runs a command to completion (bounded); returns CompletedProcess with bytes output. On a
    timeout the command is killed and its output so far is part of the failure message."""
    shown = " ".join(str(c) for c in cmd)
    print(f"  $ {shown if len(shown) < 300 else shown[:300] + ' ...'}", flush=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE if input_bytes else
                             subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        try:
            p.communicate(input=input_bytes, timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            # SIGTERM first, so clients that buffer stdout (kcat) flush what they have.
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            timed_out = True
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if timed_out:
        raise CheckFailed(f"command timed out after {timeout_s}s: {shown}\n"
                          f"stdout (end): {stdout[-2000:].decode(errors='replace')}\n"
                          f"stderr (end): {stderr[-3000:].decode(errors='replace')}")
    if check_rc and p.returncode != 0:
        raise CheckFailed(f"command failed with exit code {p.returncode}: {shown}\n"
                          f"stdout: {stdout[-3000:].decode(errors='replace')}\n"
                          f"stderr: {stderr[-3000:].decode(errors='replace')}")
    return subprocess.CompletedProcess(cmd, p.returncode, stdout, stderr)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Ferry:
    """One `ferry serve` process. Use as a context manager: the process is always stopped on
    exit, and a clean stop (SIGTERM, exit code 0) is asserted unless the test already failed."""

    def __init__(self, binary, port=None, host="127.0.0.1", data_dir=None, log_level=None,
                 extra_args=(), config_text=None, listen_flag=True):
        self.binary = binary
        self.host = host
        self.fixed_port = port is not None
        self.port = port
        self.workdir = tempfile.mkdtemp(prefix="ferry-compat-")
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        self.log_level = log_level or os.environ.get("FERRY_COMPAT_LOG_LEVEL", "info")
        self.extra_args = list(extra_args)
        # False when the config file sets `listeners`: `port` (fixed) is then the one of them
        # the start-up wait checks.
        self.listen_flag = listen_flag
        if config_text is not None:
            # A TOML file in the work directory, passed with --config on every start.
            self.config_path = os.path.join(self.workdir, "ferry.toml")
            with open(self.config_path, "w") as f:
                f.write(config_text)
            self.extra_args += ["--config", self.config_path]
        self.proc = None
        self.log_path = None
        self.starts = 0
        self.exit_expected = False

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_log()
            self._kill_quietly()
            print(f"  (data and logs kept in {self.workdir})", flush=True)
            return False
        try:
            if self.running():
                self.stop()
            elif not self.exit_expected:
                raise CheckFailed(f"ferry exited on its own during the test (status "
                                  f"{self.proc.returncode})")
        except BaseException:
            self.dump_log()
            print(f"  (data and logs kept in {self.workdir})", flush=True)
            raise
        shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Starts the broker and waits until its port accepts connections. Picks a free port on
        the first start (retrying if another process takes it first); restarts reuse it."""
        assert not self.running(), "already running"
        attempts = 1 if self.fixed_port else 5
        for attempt in range(attempts):
            if not self.fixed_port:
                self.port = free_port()
            if self._start_once():
                return
            if self.fixed_port or attempt + 1 == attempts:
                break
            print(f"  ferry exited during start-up on port {self.port}; trying another port",
                  flush=True)
        self.dump_log()
        raise CheckFailed(f"ferry did not start on {self.bootstrap}")

    def _start_once(self):
        os.makedirs(self.data_dir, exist_ok=True)
        self.starts += 1
        self.log_path = os.path.join(self.workdir, f"ferry-{self.starts}.log")
        listen = ["--listen", f"{self.host}:{self.port}"] if self.listen_flag else []
        cmd = ([self.binary, "serve", "--data-dir", self.data_dir] + listen +
               ["--log-level", self.log_level] + self.extra_args)
        print(f"  starting: {' '.join(cmd)} (log {self.log_path})", flush=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.exit_expected = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                print(f"  ferry exited with code {self.proc.returncode} during start-up",
                      flush=True)
                self.dump_log()
                return False
            if port_accepts(self.host, self.port):
                print(f"  ferry pid {self.proc.pid} accepts connections on {self.bootstrap}",
                      flush=True)
                return True
            time.sleep(0.05)
        self._kill_quietly()
        raise CheckFailed(f"ferry did not accept connections on {self.bootstrap} within "
                          f"{READY_TIMEOUT_S}s")

    def stop(self):
        """SIGTERM; asserts a clean exit (code 0) within STOP_TIMEOUT_S, else SIGKILL and fail."""
        assert self.proc is not None
        self.exit_expected = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
            raise CheckFailed(f"ferry did not exit within {STOP_TIMEOUT_S}s of SIGTERM; killed")
        if rc != 0:
            raise CheckFailed(f"ferry exited with code {rc} after SIGTERM (want 0)")
        print(f"  ferry stopped cleanly by SIGTERM (exit code 0)", flush=True)
        # The listening socket is closed with the process; a restart binds the same port.

    def kill9(self):
        """SIGKILL, as a power cut would (without the page-cache loss)."""
        assert self.proc is not None
        self.exit_expected = True
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        print(f"  ferry killed with SIGKILL (exit status {self.proc.returncode})", flush=True)

    def restart(self, hard=False):
        if hard:
            self.kill9()
        else:
            self.stop()
        self.fixed_port = True
        self.start()

    def _kill_quietly(self):
        if self.running():
            self.proc.kill()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def dump_log(self):
        lines = self.log_text().splitlines()
        if not lines:
            return
        print(f"---- last {min(len(lines), LOG_TAIL_LINES)} lines of {self.log_path}", flush=True)
        for line in lines[-LOG_TAIL_LINES:]:
            print(f"  | {line}")
        print("----", flush=True)


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--ferry", default=os.environ.get("FERRY_BIN"),
                   help="path of the ferry binary (default: $FERRY_BIN)")
    args = p.parse_args()
    if not args.ferry or not os.access(args.ferry, os.X_OK):
        p.error(f"ferry binary not found or not executable: {args.ferry!r} "
                "(pass --ferry or set FERRY_BIN)")
    return args


def main(description, body):
    """Runs `body(args)` and turns the outcome into an exit code and a one-line verdict."""
    args = parse_args(description)
    start = time.monotonic()
    name = os.path.basename(sys.argv[0])
    try:
        body(args)
    except CheckFailed as e:
        print(f"FAIL {name}: {e}", flush=True)
        sys.exit(1)
    print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)


# ---- confluent-kafka helpers shared by several tests ------------------------------------------

def admin_create_topic(bootstrap, topic, partitions, config=None, timeout_s=15):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout_s, request_timeout=timeout_s)
    try:
        futures[topic].result(timeout=timeout_s)
    except Exception as e:
        raise CheckFailed(f"CreateTopics {topic} ({partitions} partitions) failed: {e}")
    print(f"  created topic {topic} with {partitions} partitions", flush=True)


def consume_assigned(bootstrap, topic, partitions, expected_counts, timeout_s=30, extra=None,
                     meta=None):
    """Reads every partition of `topic` from the beginning with assign() (no group membership)
    until each partition has `expected_counts[p]` messages (or the deadline passes). Returns
    {partition: [(offset, key, value), ...]}; if `meta` is a dict, also fills
    meta[(partition, offset)] = (timestamp, headers)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    conf = {"bootstrap.servers": bootstrap, "group.id": "ferry-compat-unused",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "enable.partition.eof": True, "fetch.wait.max.ms": 100}
    conf.update(extra or {})
    c = Consumer(conf)
    got = {p: [] for p in range(partitions)}
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(len(got[p]) >= expected_counts.get(p, 0) for p in got):
                break
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise CheckFailed(f"consumer error: {m.error()}")
            got[m.partition()].append((m.offset(), m.key(), m.value()))
            if meta is not None:
                meta[(m.partition(), m.offset())] = (m.timestamp()[1], m.headers())
    finally:
        c.close()
    return got


def produce_confluent(bootstrap, topic, messages, conf=None, timeout_s=30):
    """Produces `messages` (dicts of Producer.produce keyword arguments) and waits for every
    delivery report. Returns {partition: [(offset, key, value), ...]} in offset order; fails on
    any delivery error or a report missing after `timeout_s`."""
    from confluent_kafka import Producer
    pconf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}
    pconf.update(conf or {})
    p = Producer(pconf)
    reports, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"{msg.key()!r}: {err}")
        else:
            reports.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    for m in messages:
        while True:
            try:
                p.produce(topic, on_delivery=on_delivery, **m)
                break
            except BufferError:  # local queue full: let deliveries drain
                p.poll(0.1)
    left = p.flush(timeout_s)
    if errors:
        raise CheckFailed(f"{len(errors)} delivery errors on {topic}, first: {errors[0]}")
    if left:
        raise CheckFailed(f"{left} messages to {topic} not delivered within {timeout_s}s")
    check_eq(len(reports), len(messages), f"{topic}: {len(messages)} delivery reports, no errors")
    by_part = {}
    for part, off, key, value in reports:
        by_part.setdefault(part, []).append((off, key, value))
    for part in by_part:
        by_part[part].sort()
    return by_part


def check_same_partitions(topic, got, want):
    """`got` and `want` map partition -> [(offset, key, value)]: equal, partition by partition."""
    for part in sorted(set(got) | set(want)):
        g, w = got.get(part, []), want.get(part, [])
        check_eq(len(g), len(w), f"{topic}[{part}]: {len(w)} records")
        check_eq(g, w, f"{topic}[{part}]: offsets, keys and values equal, in order")


# ---- consumer groups -------------------------------------------------------------------------

# The first JoinGroup into an empty group waits group.initial.rebalance.delay.ms (3 s by default);
# the group tests do not.
GROUP_CONFIG = "[broker]\ngroup.initial.rebalance.delay.ms = 0\n"


def group_ferry(binary):
    """A Ferry for the group tests (use it as a context manager), started with GROUP_CONFIG."""
    return Ferry(binary, config_text=GROUP_CONFIG)


# ---- Go (GOPATH mode against Debian's golang-*-dev packages) -----------------------------------

def go_env(gopath_dir):
    """Environment for `go` in GOPATH mode: our GOPATH first, then Debian's /usr/share/gocode;
    home and (unless FERRY_COMPAT_GOCACHE names one) the build cache inside `gopath_dir`, so it
    works as root or not and needs no writable home directory."""
    env = dict(os.environ)
    # CTest points FERRY_COMPAT_GOCACHE at the build tree, so later runs reuse compiled packages.
    cache = os.environ.get("FERRY_COMPAT_GOCACHE") or os.path.join(gopath_dir, "cache")
    env.update({"GOPATH": f"{gopath_dir}:/usr/share/gocode", "GO111MODULE": "off",
                "GOCACHE": cache, "GOFLAGS": "",
                "GOPROXY": "off", "GOTOOLCHAIN": "local", "HOME": gopath_dir,
                "CGO_CFLAGS": "-Wno-deprecated-declarations"})
    return env


def require_go():
    """Exits 77 (skipped) when the Go toolchain is not installed."""
    go = shutil.which("go")
    if not go:
        print("SKIP: the go toolchain is not installed (golang-go)", flush=True)
        sys.exit(77)
    return go


def require_kafkajs():
    """Returns the node executable; exits 77 (skipped) when node is not installed and fails
    when kafkajs is not installed next to this file."""
    node = shutil.which("node")
    if not node:
        print("SKIP: node is not installed", flush=True)
        sys.exit(77)
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isfile(os.path.join(here, "node_modules", "kafkajs", "package.json")):
        raise CheckFailed("kafkajs is not installed: run "
                          "`npm ci --prefix tests/compat --no-audit --no-fund`")
    return node
