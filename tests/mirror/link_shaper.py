# A TCP relay that shapes a link for the mirror's flow-control tests and benchmark: a rate limit
# shared by all connections in each direction, an added one-way delay, and byte counters.
#
# It listens on 127.0.0.1 (a port picked by the test, so the central ferry can advertise it and
# every connection of the mirror goes through it). Each accepted connection gets one connection
# to the upstream's current port; per direction a reader thread timestamps each chunk it reads
# and queues it (at most `queue_bytes` per connection and direction, so a full queue pushes back
# on the sender like a bottleneck's buffer), and a writer thread sends it at
#     max(arrival + delay, the end of the previous chunk's transmission on that direction)
# and books its transmission time (size / rate) on the direction's shared clock. So the bytes
# leaving each direction never exceed `rate` on average, and each byte is held at least `delay`.
#
# counts() gives the bytes relayed per direction; samples() the (time, bytes sent upstream)
# pairs recorded as chunks leave, to compute rates over a window. The relay stops by itself
# after `max_lifetime_s`; stop() closes the listener and every connection and joins all threads.
import collections
import socket
import threading
import time

CHUNK = 16384


class _Direction:
    """The shared transmission clock and counter of one direction (all connections)."""

    def __init__(self, rate_bytes_per_s):
        self.rate = rate_bytes_per_s
        self.lock = threading.Lock()
        self.free_at = 0.0
        self.bytes = 0
        self.samples = []

    def book(self, size, ready_at):
        """When a chunk of `size` bytes ready at `ready_at` may leave."""
        with self.lock:
            start = max(ready_at, self.free_at)
            if self.rate:
                self.free_at = start + size / self.rate
            return start

    def sent(self, size):
        with self.lock:
            self.bytes += size
            self.samples.append((time.monotonic(), self.bytes))


class LinkShaper:
    def __init__(self, listen_port, upstream_port, rate_bytes_per_s=0, delay_ms=0,
                 queue_bytes=4 << 20, max_lifetime_s=300):
        self.listen_port = listen_port
        self.upstream_port = upstream_port  # a callable (the upstream may restart) or an int
        self.delay = delay_ms / 1000.0
        self.queue_bytes = queue_bytes
        self.max_lifetime_s = max_lifetime_s
        self.up = _Direction(rate_bytes_per_s)    # client -> upstream
        self.down = _Direction(rate_bytes_per_s)  # upstream -> client
        self.stopping = threading.Event()
        self.sockets = []
        self.threads = []
        self.lock = threading.Lock()
        self.listener = None

    def start(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.listen_port))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self._spawn(self._accept_loop)
        timer = threading.Timer(self.max_lifetime_s, self.stop_soon)
        timer.daemon = True
        timer.start()
        return self

    def stop_soon(self):
        self.stopping.set()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stop_soon()
        for t in list(self.threads):
            t.join(timeout=5)
        with self.lock:
            for s in self.sockets:
                s.close()
        if self.listener:
            self.listener.close()

    def counts(self):
        return {"up_bytes": self.up.bytes, "down_bytes": self.down.bytes}

    def samples(self):
        with self.up.lock:
            return list(self.up.samples)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            port = self.upstream_port() if callable(self.upstream_port) else self.upstream_port
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.sockets += [client, upstream]
            for src, dst, d in ((client, upstream, self.up), (upstream, client, self.down)):
                queue = _Queue(self.queue_bytes)
                self._spawn(self._read_loop, src, queue)
                self._spawn(self._write_loop, dst, queue, d)

    def _read_loop(self, src, queue):
        try:
            while not self.stopping.is_set():
                data = src.recv(CHUNK)
                if not data:
                    break
                queue.put(time.monotonic(), data, self.stopping)
        except OSError:
            pass
        queue.close()

    def _write_loop(self, dst, queue, direction):
        try:
            while not self.stopping.is_set():
                item = queue.get(self.stopping)
                if item is None:
                    break
                arrived, data = item
                at = direction.book(len(data), arrived + self.delay)
                wait = at - time.monotonic()
                if wait > 0 and self.stopping.wait(wait):
                    break
                dst.sendall(data)
                direction.sent(len(data))
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _Queue:
    """A FIFO of (arrival time, bytes) bounded in bytes; put() blocks while it is full."""

    def __init__(self, limit):
        self.limit = limit
        self.items = collections.deque()
        self.size = 0
        self.closed = False
        self.cond = threading.Condition()

    def put(self, at, data, stopping):
        with self.cond:
            while self.size >= self.limit and not stopping.is_set():
                self.cond.wait(0.1)
            self.items.append((at, data))
            self.size += len(data)
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def get(self, stopping):
        with self.cond:
            while not self.items and not self.closed and not stopping.is_set():
                self.cond.wait(0.1)
            if not self.items:
                return None
            at, data = self.items.popleft()
            self.size -= len(data)
            self.cond.notify_all()
            return at, data
