# Userspace TCP proxies for the fault harness: one per client-facing Kafka listener and one per
# directed link between cluster nodes, so that a test can cut or stall any of them without root.
#
# A Proxy listens on 127.0.0.1 (an ephemeral port unless one is given) and relays each accepted
# connection to its upstream (host, port), byte for byte, in both directions. Its mode is one of
#
#   pass       relay everything.
#   drop       every open connection is closed (both sockets) and new ones are accepted and closed
#              at once: a link that is down (connection reset / refused).
#   blackhole  connections stay open and new ones are accepted, but what arrives is read and
#              thrown away instead of being forwarded: a stall (a client sees requests that are
#              never answered). Per direction: "up" (client to upstream), "down" (upstream to
#              client) or both. A connection that lost bytes this way can never carry a valid
#              stream again, so returning to pass closes it (its peer reconnects).
#
# Each Proxy runs one thread with a selector over its listener and connections (non-blocking
# sockets, at most BUFFER_LIMIT bytes queued per direction before reading pauses), so the harness
# costs a few threads however many clients connect. Control calls (set_mode, set_upstream,
# stop) may come from any thread: they take effect in the proxy's thread before the call
# returns. stop() closes everything and joins the thread.
#
# Network groups the proxies of a whole cluster: the client proxy of each node and the link
# proxies (i, j) that node i dials to reach node j's cluster listener. isolate(node) cuts (or
# stalls) every proxy touching a node; partition([{1}, {2, 3}]) cuts the links between groups;
# one_way(i, j) loses what i sends to j only; heal() puts every proxy back to pass.
import queue
import selectors
import socket
import threading

BUFFER_LIMIT = 1 << 20
MODES = ("pass", "drop", "blackhole")


class _Pair:
    """One relayed connection: the accepted client socket and the socket to the upstream."""

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.to_upstream = bytearray()
        self.to_client = bytearray()
        self.connected = False  # the upstream connect has completed
        self.tainted = False    # bytes were thrown away (blackhole): the stream is broken
        self.closed = False


class Proxy:
    """One listening port relayed to one upstream address. See the file comment."""

    def __init__(self, upstream, name="proxy", port=0):
        self.name = name
        self.upstream = upstream
        self.mode = "pass"
        self.black_up = self.black_down = False
        self.counts = {"accepted": 0, "refused": 0, "closed_by_drop": 0, "closed_by_heal": 0,
                       "upstream_failed": 0, "bytes_up": 0, "bytes_down": 0,
                       "discarded_up": 0, "discarded_down": 0}
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ, ("listen", None))
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._pairs = set()
        self._commands = queue.Queue()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"netproxy-{name}", daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # ---- control (any thread) -----------------------------------------------------------------

    def set_mode(self, mode, up=True, down=True):
        """pass, drop, or blackhole (of the directions `up` and/or `down`)."""
        assert mode in MODES, mode
        self._call(lambda: self._apply_mode(mode, up, down))

    def pass_(self):
        self.set_mode("pass")

    def drop(self):
        self.set_mode("drop")

    def blackhole(self, up=True, down=True):
        self.set_mode("blackhole", up, down)

    def set_upstream(self, upstream):
        """Later connections go to `upstream` (open ones stay where they are)."""
        self._call(lambda: setattr(self, "upstream", upstream))

    def connections(self):
        return self._call(lambda: len(self._pairs))

    def stop(self):
        if self._stopping or not self._thread.is_alive():
            return
        self._call(self._shutdown)
        self._thread.join(timeout=10)

    def _call(self, fn):
        """Runs fn in the proxy's thread and returns its result (or raises what it raised)."""
        if not self._thread.is_alive():
            return fn()
        done = queue.Queue(maxsize=1)
        self._commands.put((fn, done))
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        ok, value = done.get(timeout=10)
        if not ok:
            raise value
        return value

    # ---- the proxy's thread -------------------------------------------------------------------

    def _apply_mode(self, mode, up, down):
        self.mode = mode
        self.black_up = mode == "blackhole" and up
        self.black_down = mode == "blackhole" and down
        for pair in list(self._pairs):
            if mode == "drop":
                self.counts["closed_by_drop"] += 1
                self._close(pair)
            elif mode == "pass" and pair.tainted:
                self.counts["closed_by_heal"] += 1
                self._close(pair)
            else:
                self._update(pair)

    def _shutdown(self):
        self._stopping = True
        for pair in list(self._pairs):
            self._close(pair)

    def _run(self):
        try:
            while not self._stopping:
                for key, events in self._sel.select(timeout=1.0):
                    kind, pair = key.data
                    if kind == "listen":
                        self._accept()
                    elif kind == "wake":
                        self._drain_commands()
                    elif not pair.closed:
                        self._service(pair, key.fileobj, events)
                self._drain_commands()
        finally:
            for pair in list(self._pairs):
                self._close(pair)
            for s in (self._listener, self._wake_r, self._wake_w):
                try:
                    self._sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
            self._sel.close()
            while not self._commands.empty():  # answer callers that raced with the stop
                _fn, done = self._commands.get_nowait()
                done.put((True, None))

    def _drain_commands(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            try:
                fn, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((True, fn()))
            except Exception as e:  # handed back to the caller
                done.put((False, e))

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self.mode == "drop":
                self.counts["refused"] += 1
                client.close()
                continue
            self.counts["accepted"] += 1
            client.setblocking(False)
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            upstream.setblocking(False)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, upstream)
            self._pairs.add(pair)
            self._sel.register(client, selectors.EVENT_READ, ("conn", pair))
            err = upstream.connect_ex(self.upstream)
            if err not in (0, 115):  # 115: EINPROGRESS
                self.counts["upstream_failed"] += 1
                self._close(pair)
                continue
            self._sel.register(upstream, selectors.EVENT_WRITE, ("conn", pair))
            self._update(pair)

    def _update(self, pair):
        """Registers the events each socket of `pair` waits for now."""
        if pair.closed:
            return
        c_ev = 0
        if len(pair.to_upstream) < BUFFER_LIMIT:
            c_ev |= selectors.EVENT_READ
        if pair.to_client:
            c_ev |= selectors.EVENT_WRITE
        if pair.connected:
            u_ev = 0
            if len(pair.to_client) < BUFFER_LIMIT:
                u_ev |= selectors.EVENT_READ
            if pair.to_upstream:
                u_ev |= selectors.EVENT_WRITE
        else:
            u_ev = selectors.EVENT_WRITE  # the connect's completion
        for sock, ev in ((pair.client, c_ev), (pair.upstream, u_ev)):
            # A socket waiting for nothing stays registered for reads so a close is seen.
            self._sel.modify(sock, ev or selectors.EVENT_READ, ("conn", pair))

    def _service(self, pair, sock, events):
        try:
            if sock is pair.upstream and not pair.connected:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self.counts["upstream_failed"] += 1
                    self._close(pair)
                    return
                pair.connected = True
                self._update(pair)
                return
            up = sock is pair.client
            if events & selectors.EVENT_READ:
                buf = pair.to_upstream if up else pair.to_client
                if len(buf) >= BUFFER_LIMIT:
                    # Registered for reads only to see a close: peek for EOF.
                    if not sock.recv(1, socket.MSG_PEEK):
                        self._close(pair)
                        return
                else:
                    data = sock.recv(65536)
                    if not data:
                        self._close(pair)
                        return
                    if (self.black_up if up else self.black_down):
                        pair.tainted = True
                        self.counts["discarded_up" if up else "discarded_down"] += len(data)
                    else:
                        buf += data
            if events & selectors.EVENT_WRITE:
                out = pair.to_client if up else pair.to_upstream
                if out:
                    n = sock.send(out)
                    self.counts["bytes_down" if up else "bytes_up"] += n
                    del out[:n]
            self._update(pair)
        except (BlockingIOError, InterruptedError):
            self._update(pair)
        except OSError:
            self._close(pair)

    def _close(self, pair):
        if pair.closed:
            return
        pair.closed = True
        self._pairs.discard(pair)
        for s in (pair.client, pair.upstream):
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            try:
                s.close()
            except OSError:
                pass


class Network:
    """The proxies of a cluster: clients[node] in front of each node's Kafka listener, and
    links[(i, j)] that node i dials to reach node j's cluster listener (absent for a single
    node). Builds nothing itself: the cluster creates the proxies and registers them."""

    def __init__(self):
        self.clients = {}
        self.links = {}

    def add_client_proxy(self, node, proxy):
        self.clients[node] = proxy

    def add_link_proxy(self, src, dst, proxy):
        self.links[(src, dst)] = proxy

    def all(self):
        return list(self.clients.values()) + list(self.links.values())

    def _set(self, proxies, mode, up=True, down=True):
        for p in proxies:
            p.set_mode(mode, up, down)

    def isolate(self, node, mode="drop", clients=True):
        """Cuts (mode drop) or stalls (blackhole) every link of `node`, and its client listener
        unless clients=False. Returns the proxies it changed."""
        touched = [p for (i, j), p in self.links.items() if node in (i, j)]
        if clients and node in self.clients:
            touched.append(self.clients[node])
        self._set(touched, mode)
        return touched

    def partition(self, groups, mode="drop"):
        """Cuts the links between nodes of different groups (a list of sets of node ids); links
        inside a group and client listeners are left as they are."""
        where = {n: g for g, members in enumerate(groups) for n in members}
        touched = [p for (i, j), p in self.links.items() if where.get(i) != where.get(j)]
        self._set(touched, mode)
        return touched

    def cut_link(self, src, dst, mode="drop", up=True, down=True):
        """One directed link proxy; with blackhole, `up` is what src sends and `down` what it
        receives on the connections it opened."""
        p = self.links[(src, dst)]
        p.set_mode(mode, up, down)
        return [p]

    def one_way(self, src, dst):
        """What src sends to dst is lost, whichever of the two opened the connection: the
        (src, dst) proxy stalls what src sends on it, the (dst, src) proxy what src answers on
        it. What dst sends to src still arrives."""
        a, b = self.links[(src, dst)], self.links[(dst, src)]
        a.set_mode("blackhole", up=True, down=False)
        b.set_mode("blackhole", up=False, down=True)
        return [a, b]

    def heal(self):
        self._set(self.all(), "pass")

    def stop(self):
        for p in self.all():
            p.stop()

    def counts(self):
        return {p.name: dict(p.counts) for p in self.all()}
