# The processes of a ferry cluster under test: N `ferry serve` processes on one machine (N = 1: a
# single node; N > 1: a [cluster] table in each node's ferry.toml), each with its own data
# directory, Kafka listener, admin listener and (N > 1) cluster listener on free 127.0.0.1
# ports, optionally behind the proxies of netproxy.py. It starts them, waits for
# /health/ready, and applies the process faults: kill -9, SIGSTOP / SIGCONT, a clean restart,
# a wiped data directory.
#
# Nothing outlives the harness: each ferry runs in its own process group under
# `setpriv --pdeathsig KILL` (the kernel kills it when the harness dies, even by SIGKILL);
# Cluster is a context manager whose exit kills every node's group; an atexit hook and SIGTERM /
# SIGINT / SIGHUP handlers (install_exit_handlers) do the same for whatever is still registered.
# Processes are started from the main thread only (the death signal follows the thread that
# forked).
#
# Proxies: with proxied=True each node's Kafka listener is advertised at a client proxy's
# address (the `advertised` key), so every client connection goes through it, and for N > 1
# node i's `peers` entry for node j (j != i) points at the link proxy (i, j), which relays to
# node j's cluster listener: links can be cut without root.
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from netproxy import Network, Proxy

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20

_live = set()  # every Node with a process that may be running, for the exit hooks


def _kill_all_live():
    for node in list(_live):
        node.kill_quietly()


_handlers_installed = False


def install_exit_handlers():
    """atexit and signal handlers that kill every registered process. A signal becomes
    SystemExit(128 + signo), so the caller's finally blocks run too."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_kill_all_live)

    def on_signal(signo, _frame):
        _kill_all_live()
        raise SystemExit(128 + signo)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)


def spawn(cmd, log_path, env=None, cwd=None):
    """Starts cmd in its own process group, killed by the kernel if this process dies; stdout
    and stderr go to log_path (appended)."""
    prefix = []
    if shutil.which("setpriv"):
        prefix = ["setpriv", "--pdeathsig", "KILL", "--"]
    with open(log_path, "ab") as log:
        return subprocess.Popen(prefix + [str(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)


def kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_quietly(holder, timeout_s=10):
    """SIGKILL of holder.proc's process group if it still runs, reaped (waiting up to
    timeout_s), and holder taken off the exit hooks' list."""
    if holder.proc is not None and holder.proc.poll() is None:
        kill_group(holder.proc, signal.SIGKILL)
        try:
            holder.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    _live.discard(holder)


def free_ports(n):
    """n distinct ports free right now on 127.0.0.1, below the kernel's ephemeral range where
    possible: a node keeps its ports across restarts, and a port of the ephemeral range could be
    taken meanwhile as the source port of some connection on the machine."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.SystemRandom()
    socks, ports = [], []
    try:
        for _ in range(50 * n):
            if len(ports) == n or low <= 12000:
                break
            port = rng.randrange(10000, low)
            if port in ports:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
        while len(ports) < n:  # no room below the range: ephemeral ports
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in socks:
            s.close()


# No HTTP proxy from the environment for loopback requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(port, path, timeout_s=2):
    """(status, body) of GET http://127.0.0.1:port/path; (None, error text) when unreachable."""
    try:
        with _OPENER.open(f"http://127.0.0.1:{port}{path}", timeout=timeout_s) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, ValueError) as e:
        return None, str(e)


def cluster_config_supported(ferry, workdir):
    """Whether this ferry binary accepts a [cluster] table (`ferry config check`)."""
    path = os.path.join(workdir, "probe-cluster.toml")
    with open(path, "w") as f:
        f.write('[broker]\nnode.id = 1\n\n[cluster]\npeers = ["1@127.0.0.1:19001", '
                '"2@127.0.0.1:19002", "3@127.0.0.1:19003"]\nlisten = "127.0.0.1:19001"\n')
    r = subprocess.run([ferry, "config", "check", path], capture_output=True, timeout=30)
    return r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace").strip()


def prepare_run(ap, a, prefix, say):
    """The common start of a cluster test script: checks --ferry (absolute afterwards) and
    confluent-kafka, installs the exit handlers, makes a.workdir (a new temporary directory
    unless given) and checks [cluster] support. Returns (own, None) where `own` says the
    directory was made here, or (own, 77) when the test cannot run here (said why)."""
    if not a.ferry or not os.access(a.ferry, os.X_OK):
        ap.error("--ferry: the ferry binary")
    a.ferry = os.path.abspath(a.ferry)
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        say("SKIP: python3 module confluent_kafka missing")
        return False, 77
    install_exit_handlers()
    own = a.workdir is None
    a.workdir = a.workdir or tempfile.mkdtemp(prefix=prefix)
    ok, why = cluster_config_supported(a.ferry, a.workdir)
    if not ok:
        say(f"SKIP: no [cluster] support: {why}")
        return own, 77
    return own, None


def toml_str(s):
    return json.dumps(str(s))  # a JSON string is a valid TOML basic string for these values


class Node:
    """One `ferry serve` process with fixed ports and data directory across restarts."""

    def __init__(self, cluster, node_id, kafka_port, admin_port, cluster_port):
        self.cluster = cluster
        self.id = node_id
        self.kafka_port = kafka_port
        self.admin_port = admin_port
        self.cluster_port = cluster_port
        self.dir = os.path.join(cluster.workdir, f"node{node_id}")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "ferry.toml")
        self.log_path = os.path.join(self.dir, "ferry.log")
        os.makedirs(self.data_dir, exist_ok=True)
        self.proc = None
        self.paused = False
        self.starts = 0
        self.exits = []  # (how it was stopped, exit status)

    @property
    def kafka_address(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def client_address(self):
        """Where clients connect: the client proxy when proxied, else the listener itself."""
        proxy = self.cluster.net.clients.get(self.id)
        return proxy.address if proxy else self.kafka_address

    def write_config(self):
        c = self.cluster
        lines = ["[broker]", f"node.id = {self.id}", f"data.dir = {toml_str(self.data_dir)}",
                 f"listen = {toml_str(self.kafka_address)}",
                 f"advertised = {toml_str(self.client_address)}",
                 f"admin.listen = {toml_str(f'127.0.0.1:{self.admin_port}')}"]
        lines += c.broker_extra
        if len(c.nodes) > 1:
            peers = []
            for other in c.nodes:
                if other.id == self.id:
                    peers.append(f"{other.id}@127.0.0.1:{other.cluster_port}")
                else:
                    link = c.net.links.get((self.id, other.id))
                    port = link.port if link else other.cluster_port
                    peers.append(f"{other.id}@127.0.0.1:{port}")
            lines += ["", "[cluster]", "peers = [" + ", ".join(toml_str(p) for p in peers) + "]",
                      f"listen = {toml_str(f'127.0.0.1:{self.cluster_port}')}"]
            lines += [f"{k} = {v}" for k, v in c.cluster_settings.items()]
        if c.topic_defaults:
            lines += ["", "[topic_defaults]"] + c.topic_defaults
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True):
        assert not self.running(), f"node {self.id} already running"
        self.write_config()
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"==== start {self.starts} at {time.time():.3f}\n".encode())
        self.proc = spawn([self.cluster.ferry, "serve", "--config", self.config_path,
                           "--log-level", self.cluster.log_level], self.log_path)
        self.paused = False
        _live.add(self)
        self.cluster.event("start", node=self.id, pid=self.proc.pid)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_s=READY_TIMEOUT_S):
        """Waits until /health/ready answers 200; raises with the log's tail otherwise."""
        deadline = time.monotonic() + timeout_s
        status, body = None, ""
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"node {self.id} exited with status {self.proc.returncode} "
                                   f"during start-up\n{self.log_tail()}")
            status, body = http_get(self.admin_port, "/health/ready")
            if status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"node {self.id} not ready within {timeout_s}s (last answer {status} "
                           f"{body!r})\n{self.log_tail()}")

    def kill9(self):
        """SIGKILL (of the whole process group), then reaps it."""
        if self.proc is None:
            return
        kill_group(self.proc, signal.SIGKILL)
        rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.paused = False
        self.exits.append(("kill", rc))
        _live.discard(self)
        self.cluster.event("kill", node=self.id)

    def pause(self):
        kill_group(self.proc, signal.SIGSTOP)
        self.paused = True
        self.cluster.event("pause", node=self.id)

    def resume(self):
        kill_group(self.proc, signal.SIGCONT)
        self.paused = False
        self.cluster.event("resume", node=self.id)

    def stop(self, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM; returns the exit status (None if it had to be killed after timeout_s)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        if self.paused:
            self.resume()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
            rc = None
        self.exits.append(("term", rc))
        _live.discard(self)
        self.cluster.event("stop", node=self.id, status=rc)
        return rc

    def restart(self, wait=True):
        """A clean stop then a start; returns the stop's exit status."""
        rc = self.stop()
        self.start(wait=wait)
        return rc

    def wipe(self):
        """Deletes the data directory (the node must be down): a node that lost its disk."""
        assert not self.running(), "wipe a stopped node"
        shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(self.data_dir, exist_ok=True)
        self.cluster.event("wipe", node=self.id)

    def kill_quietly(self):
        kill_quietly(self, STOP_TIMEOUT_S)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(f"  node{self.id} | {line}" for line in text.splitlines()[-lines:])

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Cluster:
    """N nodes (and their proxies when proxied). Use as a context manager: every process and
    proxy is stopped on exit, whatever happened. `events` (a callable taking a dict) receives
    each start, kill, pause, resume, stop and wipe with a timestamp."""

    def __init__(self, ferry, n, workdir, proxied=True, broker_extra=(), topic_defaults=(),
                 cluster_settings=None, log_level="info", events=None):
        self.ferry = ferry
        self.workdir = workdir
        self.proxied = proxied
        self.broker_extra = list(broker_extra)
        self.topic_defaults = list(topic_defaults)
        self.cluster_settings = dict(cluster_settings or {"election.timeout.ms": 1000,
                                                          "heartbeat.interval.ms": 100})
        self.log_level = log_level
        self._events = events
        self.net = Network()
        ports = free_ports(3 * n)
        self.nodes = [Node(self, i + 1, *ports[3 * i:3 * i + 3]) for i in range(n)]
        if proxied:
            for node in self.nodes:
                self.net.add_client_proxy(node.id, Proxy(("127.0.0.1", node.kafka_port),
                                                         name=f"client-{node.id}"))
            if n > 1:
                for a in self.nodes:
                    for b in self.nodes:
                        if a is not b:
                            self.net.add_link_proxy(a.id, b.id, Proxy(
                                ("127.0.0.1", b.cluster_port), name=f"link-{a.id}-{b.id}"))

    def event(self, kind, **fields):
        if self._events:
            self._events(dict(t=round(time.time(), 3), event=kind, **fields))

    def node(self, node_id):
        return self.nodes[node_id - 1]

    @property
    def bootstrap(self):
        return ",".join(n.client_address for n in self.nodes)

    @property
    def direct_bootstrap(self):
        return ",".join(n.kafka_address for n in self.nodes)

    def start(self):
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_ready()

    def stop(self):
        """SIGTERM to every node; {node id: exit status}."""
        return {node.id: node.stop() for node in self.nodes}

    def close(self):
        for node in self.nodes:
            node.kill_quietly()
        self.net.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
