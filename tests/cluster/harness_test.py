# Tests of the harness's own parts, so a cluster run can trust them: the generated ferry.toml of
# a proxied 3-node cluster (peers through the link proxies, advertised at the client proxies),
# the proxy modes (pass, drop, blackhole both ways and one way) and the Network helpers
# (isolate, partition, heal) on real sockets, the log-file reader on a hand-made segment, and,
# with a ferry binary, a node's process faults (ready, SIGSTOP makes /health/ready unreachable,
# SIGCONT, SIGKILL, SIGTERM exit 0, wipe) with no process left behind.
#
#   /usr/bin/python3 harness_test.py [--ferry PATH]     (unittest; CTest `cluster_harness`)
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import tomllib
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as clusterlib  # noqa: E402
import logfiles  # noqa: E402
from netproxy import Network, Proxy  # noqa: E402

FERRY = os.environ.get("FERRY_BIN")
if "--ferry" in sys.argv:  # taken off before unittest reads the arguments
    _i = sys.argv.index("--ferry")
    FERRY = os.path.abspath(sys.argv[_i + 1])
    del sys.argv[_i:_i + 2]


class Server:
    """A 127.0.0.1 listener that says hello on accept, then echoes."""

    def __init__(self, hello=b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.hello = hello
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        try:
            if self.hello:
                c.sendall(self.hello)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def flat(table, prefix=""):
    """A TOML table with dotted keys flattened back: {"node": {"id": 1}} -> {"node.id": 1}."""
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def roundtrip(port, data=b"ping", timeout=1.0):
    """What comes back for `data` through 127.0.0.1:port: the echo, b"" when the connection is
    closed or refused, None when nothing comes (a stall)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(len(data) - len(got))
                if not chunk:
                    return b""
                got += chunk
            return got
    except socket.timeout:
        return None
    except OSError:
        return b""


class ProxyTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()
        self.proxy = Proxy(("127.0.0.1", self.server.port), "t")

    def tearDown(self):
        self.proxy.stop()
        self.server.close()

    def test_modes(self):
        self.assertEqual(roundtrip(self.proxy.port, b"x" * 300000), b"x" * 300000)
        self.proxy.drop()
        self.assertEqual(roundtrip(self.proxy.port), b"")
        self.assertGreaterEqual(self.proxy.counts["refused"], 1)
        self.proxy.blackhole()
        self.assertIsNone(roundtrip(self.proxy.port, timeout=0.5))
        self.proxy.pass_()
        self.assertEqual(roundtrip(self.proxy.port), b"ping")

    def test_drop_closes_open_connections_and_heal_closes_stalled_ones(self):
        c = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=2)
        c.sendall(b"a")
        self.assertEqual(c.recv(1), b"a")
        self.proxy.blackhole()
        c.sendall(b"b")
        c.settimeout(0.3)
        self.assertRaises(socket.timeout, c.recv, 1)
        self.proxy.pass_()  # the stream lost bytes: closed
        c.settimeout(2)
        self.assertEqual(c.recv(1), b"")
        c2 = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=2)
        c2.sendall(b"c")
        self.assertEqual(c2.recv(1), b"c")
        self.proxy.drop()
        self.assertEqual(c2.recv(1), b"")
        c.close()
        c2.close()

    def test_one_way_blackhole(self):
        hello = Server(hello=b"hello")
        p = Proxy(("127.0.0.1", hello.port), "one-way")
        try:
            p.blackhole(up=True, down=False)
            with socket.create_connection(("127.0.0.1", p.port), timeout=2) as c:
                self.assertEqual(c.recv(5), b"hello")  # upstream to client still flows
                c.sendall(b"lost")
                c.settimeout(0.5)
                self.assertRaises(socket.timeout, c.recv, 4)  # client to upstream does not
            self.assertEqual(p.counts["discarded_up"], 4)
        finally:
            p.stop()
            hello.close()

    def test_upstream_down_closes_the_client(self):
        self.server.close()
        self.assertEqual(roundtrip(self.proxy.port), b"")


class ClusterConfigTest(unittest.TestCase):
    def test_three_node_config_goes_through_the_proxies(self):
        work = tempfile.mkdtemp(prefix="harness-test-")
        try:
            with clusterlib.Cluster("/bin/false", 3, work, proxied=True,
                                    cluster_settings={"election.timeout.ms": 500,
                                                      "heartbeat.interval.ms": 50}) as cl:
                for node in cl.nodes:
                    node.write_config()
                    with open(node.config_path, "rb") as f:
                        conf = tomllib.load(f)
                    b = flat(conf["broker"])
                    self.assertEqual(b["node.id"], node.id)
                    self.assertEqual(b["listen"], node.kafka_address)
                    self.assertEqual(b["advertised"], cl.net.clients[node.id].address)
                    self.assertEqual(b["admin.listen"], f"127.0.0.1:{node.admin_port}")
                    self.assertEqual(b["data.dir"], node.data_dir)
                    c = flat(conf["cluster"])
                    self.assertEqual(c["listen"], f"127.0.0.1:{node.cluster_port}")
                    self.assertEqual(c["election.timeout.ms"], 500)
                    self.assertEqual(c["heartbeat.interval.ms"], 50)
                    self.assertEqual(len(c["peers"]), 3)
                    for entry in c["peers"]:
                        peer_id, _, addr = entry.partition("@")
                        peer = cl.node(int(peer_id))
                        if peer is node:
                            self.assertEqual(addr, f"127.0.0.1:{node.cluster_port}")
                        else:
                            link = cl.net.links[(node.id, peer.id)]
                            self.assertEqual(addr, link.address)
                            self.assertEqual(link.upstream, ("127.0.0.1", peer.cluster_port))
                ports = [p for n in cl.nodes for p in (n.kafka_port, n.admin_port,
                                                        n.cluster_port)]
                self.assertEqual(len(set(ports)), 9)
                self.assertEqual(cl.bootstrap, ",".join(p.address for p in
                                                         cl.net.clients.values()))
        finally:
            shutil.rmtree(work)

    def test_single_node_has_no_cluster_table(self):
        work = tempfile.mkdtemp(prefix="harness-test-")
        try:
            with clusterlib.Cluster("/bin/false", 1, work) as cl:
                cl.nodes[0].write_config()
                with open(cl.nodes[0].config_path, "rb") as f:
                    conf = tomllib.load(f)
                self.assertNotIn("cluster", conf)
                self.assertEqual(cl.net.links, {})
        finally:
            shutil.rmtree(work)


class NetworkTest(unittest.TestCase):
    def test_isolate_partition_heal(self):
        servers = {i: Server() for i in (1, 2, 3)}
        net = Network()
        for i in (1, 2, 3):
            net.add_client_proxy(i, Proxy(("127.0.0.1", servers[i].port), f"client-{i}"))
            for j in (1, 2, 3):
                if i != j:
                    net.add_link_proxy(i, j, Proxy(("127.0.0.1", servers[j].port),
                                                   f"link-{i}-{j}"))
        try:
            def reachable():
                return {name: roundtrip(p.port) == b"ping"
                        for name, p in [(f"c{i}", q) for i, q in net.clients.items()] +
                        [(f"{i}{j}", q) for (i, j), q in net.links.items()]}

            self.assertTrue(all(reachable().values()))
            net.isolate(2)
            r = reachable()
            self.assertEqual(sorted(k for k, v in r.items() if not v),
                             ["12", "21", "23", "32", "c2"])
            net.heal()
            self.assertTrue(all(reachable().values()))
            net.partition([{1}, {2, 3}])
            r = reachable()
            self.assertEqual(sorted(k for k, v in r.items() if not v), ["12", "13", "21", "31"])
            net.heal()
            # One way: 1's bytes to 2 are lost on both link proxies between them; 2's still
            # reach 1 (a server that greets on accept shows that direction).
            touched = net.one_way(1, 2)
            self.assertEqual([p.name for p in touched], ["link-1-2", "link-2-1"])
            self.assertIsNone(roundtrip(net.links[(1, 2)].port, timeout=0.3))
            self.assertIsNone(roundtrip(net.links[(2, 1)].port, timeout=0.3))
            self.assertEqual((net.links[(1, 2)].black_up, net.links[(1, 2)].black_down),
                             (True, False))
            self.assertEqual((net.links[(2, 1)].black_up, net.links[(2, 1)].black_down),
                             (False, True))
            self.assertEqual(roundtrip(net.links[(1, 3)].port), b"ping")
            net.heal()
            net.isolate(3, clients=False)
            r = reachable()
            self.assertEqual(sorted(k for k, v in r.items() if not v), ["13", "23", "31", "32"])
            net.heal()
            self.assertTrue(all(reachable().values()))
        finally:
            net.stop()
            for s in servers.values():
                s.close()


class LogFilesTest(unittest.TestCase):
    def test_batches_records_and_truncation(self):
        work = tempfile.mkdtemp(prefix="harness-test-")
        try:
            d = os.path.join(work, "logs", "t-0")
            os.makedirs(d)

            def varint(n):
                n = (n << 1) ^ (n >> 63)
                out = b""
                while True:
                    b = n & 0x7F
                    n >>= 7
                    if n:
                        out += bytes([b | 0x80])
                    else:
                        return out + bytes([b])

            def batch(base, values):
                body = b""
                for i, v in enumerate(values):
                    rec = b"\0" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + \
                        varint(0)
                    body += varint(len(rec)) + rec
                head = struct.pack(">ibIhiqqqhii", 0, 2, 0, 0, len(values) - 1, 0, 0, -1, -1,
                                   -1, len(values))
                return struct.pack(">qi", base, len(head) + len(body)) + head + body

            with open(os.path.join(d, "00000000000000000000.log"), "wb") as f:
                f.write(batch(0, [b"a", b"b"]) + batch(2, [b"c"]) + b"\0\0\0")  # torn tail
            with open(os.path.join(d, "00000000000000000003.log"), "wb") as f:
                f.write(batch(3, [b"d"]) + batch(4, [b"e", b"f"]))
            self.assertEqual(logfiles.partition_dirs(work), {("t", 0): d})
            bs = logfiles.read_batches(d)
            self.assertEqual([(b.base_offset, b.last_offset) for b in bs],
                             [(0, 1), (2, 2), (3, 3), (4, 5)])
            self.assertEqual([v for b in bs for _o, _k, v in logfiles.records(b)],
                             [b"a", b"b", b"c", b"d", b"e", b"f"])
            data, n = logfiles.bytes_below(d, 4)
            self.assertEqual(n, 3)
            self.assertEqual(logfiles.truncate_tail(d, 1), [(4, 5)])
            self.assertEqual([b.last_offset for b in logfiles.read_batches(d)], [1, 2, 3])
        finally:
            shutil.rmtree(work)


@unittest.skipUnless(FERRY, "no ferry binary (--ferry or FERRY_BIN)")
class NodeTest(unittest.TestCase):
    def test_process_faults_and_cleanup(self):
        work = tempfile.mkdtemp(prefix="harness-test-")
        pids = []
        try:
            with clusterlib.Cluster(FERRY, 1, work) as cl:
                node = cl.nodes[0]
                cl.start()
                pids.append(node.proc.pid)
                self.assertEqual(clusterlib.http_get(node.admin_port, "/health/ready")[0], 200)
                node.pause()
                self.assertIsNone(clusterlib.http_get(node.admin_port, "/health/ready",
                                                      timeout_s=0.5)[0])
                node.resume()
                node.wait_ready(5)
                node.kill9()
                self.assertEqual(node.exits[-1], ("kill", -9))
                node.start()
                pids.append(node.proc.pid)
                self.assertEqual(node.restart(), 0)  # SIGTERM: clean exit
                pids.append(node.proc.pid)
                node.kill9()
                os.makedirs(os.path.join(node.data_dir, "logs", "x-0"))
                node.wipe()
                self.assertEqual(os.listdir(node.data_dir), [])
                node.start()
                pids.append(node.proc.pid)
                node.pause()  # left stopped: the exit must still kill it
            for pid in pids:
                self.assertFalse(os.path.exists(f"/proc/{pid}") and
                                 open(f"/proc/{pid}/stat").read().split()[2] != "Z",
                                 f"process {pid} left behind")
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main(verbosity=2)
