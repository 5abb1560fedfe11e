# A Kafka-aware TCP proxy that injects network faults between real clients and ferry, for the
# idempotent-producer tests (test_idempotent_confluent.py, test_idempotent_kafkajs.py) and the
# mirror's tests (tests/mirror).
#
# It listens on 127.0.0.1 (a port picked by the test, so that ferry can advertise it with
# `--advertised 127.0.0.1:<proxy port>` and every Metadata-driven connection of the client goes
# through the proxy too). Each accepted client connection gets one connection to ferry's current
# port; two threads forward length-prefixed Kafka frames, one per direction, and the proxy reads
# each request's header (int16 api_key, int16 api_version, int32 correlation_id) and each
# response's correlation id. Faults, decided by a random.Random seeded from the test's seed and
# the connection's index (so a run can be repeated):
#
#   lose    a Produce request (acks != 0) is forwarded to ferry; the proxy waits until ferry's
#           response to it has arrived (so the batch was surely appended), then closes both
#           sockets without relaying that response: the client has to retry a batch the broker
#           has already stored.
#   drop    the connection is closed at a random moment: instead of forwarding a request, after
#           forwarding only part of it (ferry reads a truncated frame), or a few milliseconds
#           after forwarding it (its response may or may not have come).
#   stall   ferry's next response is held for a few seconds before it is relayed.
#
# Probabilities are per request and can be changed while the proxy runs (configure()); each
# injected fault is counted (counts()). The proxy has a bounded lifetime (it stops by itself after
# `max_lifetime_s`) and stop() closes the listener and every connection and joins all threads.
# When ferry is down, new connections are closed at once (counted as "refused").
#
# Whole-link faults, for the mirror's tests (tests/mirror):
#
#   outage(s)    every open connection is cut and, for `s` seconds, new ones are accepted and
#                closed at once (a link that is down: connection refused or reset).
#   blackout(s)  for `s` seconds new connections are accepted but nothing is forwarded on them
#                (a black hole: the client sees a connection that never answers; when it ends,
#                they are closed); the open ones are cut, or with freeze=True kept open but
#                frozen (nothing forwarded, like a stuck TCP path) and resumed afterwards.
# Both return at once; wait_link_up() waits until the fault is over, end_link_fault() ends it.
# Counted as "outages" and "blackouts"; connections turned away as "refused_down" and "held".
import random
import socket
import struct
import threading
import time

PRODUCE = 0


def _read_uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def produce_acks(frame):
    """The acks of a Produce request frame (without its length prefix); None if unparsable."""
    try:
        _key, ver, _corr, cid_len = struct.unpack_from(">hhih", frame, 0)
        pos = 10 + max(cid_len, 0)
        flexible = ver >= 9
        if flexible:  # request header v2: tagged fields after the client id
            n, pos = _read_uvarint(frame, pos)
            for _ in range(n):
                _tag, pos = _read_uvarint(frame, pos)
                size, pos = _read_uvarint(frame, pos)
                pos += size
        if ver >= 3:  # transactional_id
            if flexible:
                n, pos = _read_uvarint(frame, pos)
                pos += max(n - 1, 0)
            else:
                (n,) = struct.unpack_from(">h", frame, pos)
                pos += 2 + max(n, 0)
        (acks,) = struct.unpack_from(">h", frame, pos)
        return acks
    except (struct.error, IndexError):
        return None


class _Conn:
    """One client connection and its connection to ferry."""

    def __init__(self, proxy, index, client, upstream):
        self.proxy = proxy
        self.index = index
        self.client = client
        self.upstream = upstream
        self.rng = random.Random(f"{proxy.seed}-{index}")
        self.lock = threading.Lock()
        self.lose = set()        # correlation ids whose response is to be swallowed
        self.stall_next = False
        self.closed = False
        self.threads = [threading.Thread(target=self._requests, daemon=True,
                                         name=f"proxy-c2f-{index}"),
                        threading.Thread(target=self._responses, daemon=True,
                                         name=f"proxy-f2c-{index}")]

    def start(self):
        for t in self.threads:
            t.start()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def join(self, timeout_s):
        for t in self.threads:
            t.join(timeout_s)

    def _wait_thawed(self):
        while self.proxy.frozen() and not self.closed:
            time.sleep(0.01)

    @staticmethod
    def _frames(sock):
        """Yields whole frames (length prefix included) read from `sock` until EOF or error."""
        buf = bytearray()
        while True:
            try:
                data = sock.recv(256 * 1024)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (n,) = struct.unpack_from(">i", buf, 0)
                if n < 0 or len(buf) < 4 + n:
                    break
                frame = bytes(buf[:4 + n])
                del buf[:4 + n]
                yield frame

    def _requests(self):
        p = self.proxy
        try:
            for frame in self._frames(self.client):
                if len(frame) < 12:
                    break
                api_key, _ver, corr = struct.unpack_from(">hhi", frame, 4)
                lose_p, drop_p, stall_p = p.probabilities()
                if api_key == PRODUCE:
                    p._count("produce_requests")
                roll = self.rng.random()
                if roll < drop_p:
                    # A drop at a random moment: instead of forwarding this request, in the
                    # middle of it (ferry gets a truncated frame), or just after it.
                    how = self.rng.random()
                    if how < 1 / 3:
                        pass
                    elif how < 2 / 3:
                        self.upstream.sendall(frame[:self.rng.randrange(1, len(frame))])
                        time.sleep(0.005)
                    else:
                        self.upstream.sendall(frame)
                        time.sleep(self.rng.uniform(0.0, 0.02))
                    p._count("drops")
                    break
                if roll < drop_p + lose_p:
                    if api_key == PRODUCE and produce_acks(frame[4:]) != 0:
                        with self.lock:
                            self.lose.add(corr)
                elif roll < drop_p + lose_p + stall_p:
                    with self.lock:
                        self.stall_next = True
                self._wait_thawed()
                self.upstream.sendall(frame)
        except OSError:
            pass
        finally:
            self.close()

    def _responses(self):
        p = self.proxy
        try:
            for frame in self._frames(self.upstream):
                if len(frame) < 8:
                    break
                (corr,) = struct.unpack_from(">i", frame, 4)
                with self.lock:
                    lose = corr in self.lose
                    stall = self.stall_next
                    self.stall_next = False
                if lose:
                    # Ferry has answered, so the batch is stored: the client never learns it.
                    p._count("lost_responses")
                    break
                if stall:
                    p._count("stalls")
                    deadline = time.monotonic() + self.rng.uniform(*p.stall_s)
                    while time.monotonic() < deadline and not self.closed:
                        time.sleep(0.05)
                self._wait_thawed()
                self.client.sendall(frame)
        except OSError:
            pass
        finally:
            self.close()


class FaultProxy:
    """Use as a context manager, or start()/stop(). `upstream_port` is a callable returning
    ferry's current port (or an int)."""

    def __init__(self, port, upstream_port, seed=1, lose_p=0.0, drop_p=0.0, stall_p=0.0,
                 stall_s=(1.0, 3.0), max_lifetime_s=300, host="127.0.0.1"):
        self.host = host
        self.port = port
        self.upstream_port = upstream_port if callable(upstream_port) else (lambda: upstream_port)
        self.seed = seed
        self.stall_s = stall_s
        self.max_lifetime_s = max_lifetime_s
        self._lock = threading.Lock()
        self._probs = (lose_p, drop_p, stall_p)
        self._counts = {"connections": 0, "refused": 0, "produce_requests": 0,
                        "lost_responses": 0, "drops": 0, "stalls": 0, "outages": 0,
                        "blackouts": 0, "refused_down": 0, "held": 0}
        self._down_until = 0.0    # monotonic time an outage or blackout ends
        self._down_mode = None    # "outage" or "blackout" while one lasts
        self._held = []           # client sockets held during a blackout
        self._conns = []
        self._stop = threading.Event()
        self._listener = None
        self._thread = None

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def configure(self, lose_p=None, drop_p=None, stall_p=None):
        with self._lock:
            lp, dp, sp = self._probs
            self._probs = (lp if lose_p is None else lose_p, dp if drop_p is None else drop_p,
                           sp if stall_p is None else stall_p)

    def probabilities(self):
        with self._lock:
            return self._probs

    def _count(self, name, n=1):
        with self._lock:
            self._counts[name] += n

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def outage(self, duration_s):
        """Cuts every connection and turns new ones away for `duration_s` seconds."""
        self._link_down("outage", duration_s)

    def blackout(self, duration_s, freeze=False):
        """Holds new connections without forwarding for `duration_s`; cuts the open ones (or
        freezes them with freeze=True)."""
        self._link_down("blackout", duration_s, cut=not freeze)

    def _link_down(self, mode, duration_s, cut=True):
        with self._lock:
            self._down_mode = mode
            self._down_until = time.monotonic() + duration_s
            self._counts[mode + "s"] += 1
        if cut:
            self._close_all()

    def frozen(self):
        """True while a blackout lasts: open connections forward nothing."""
        with self._lock:
            return self._down_mode == "blackout" and time.monotonic() < self._down_until

    def end_link_fault(self):
        """Ends an outage or blackout now."""
        with self._lock:
            self._down_until = 0.0

    def link_down(self):
        """True while an outage or blackout lasts."""
        with self._lock:
            return self._down_mode is not None and time.monotonic() < self._down_until

    def wait_link_up(self, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while self.link_down() and time.monotonic() < deadline:
            time.sleep(0.01)
        # The accept loop closes held connections within its 0.05 s poll.
        time.sleep(0.06)

    def _turn_away(self, client):
        """During an outage or blackout: True if `client` was closed or held."""
        with self._lock:
            mode = self._down_mode if time.monotonic() < self._down_until else None
        if mode == "outage":
            self._count("refused_down")
            client.close()
            return True
        if mode == "blackout":
            self._count("held")
            self._held.append(client)
            return True
        return False

    def _end_link_fault(self):
        with self._lock:
            if self._down_mode is None or time.monotonic() < self._down_until:
                return
            self._down_mode = None
            held, self._held = self._held, []
        for c in held:
            try:
                c.close()
            except OSError:
                pass

    def start(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, self.port))
        ls.listen(64)
        ls.settimeout(0.05)
        self._listener = ls
        self._deadline = time.monotonic() + self.max_lifetime_s
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="proxy-accept")
        self._thread.start()
        print(f"  fault proxy listening on {self.address} (seed {self.seed})", flush=True)
        return self

    def _accept_loop(self):
        index = 0
        while not self._stop.is_set():
            if time.monotonic() > self._deadline:
                print(f"  fault proxy: lifetime of {self.max_lifetime_s}s over, stopping",
                      flush=True)
                break
            self._end_link_fault()
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if self._turn_away(client):
                continue
            client.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                upstream = socket.create_connection((self.host, self.upstream_port()), timeout=2)
                upstream.settimeout(None)
                upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                self._count("refused")
                client.close()
                continue
            index += 1
            self._count("connections")
            conn = _Conn(self, index, client, upstream)
            with self._lock:
                self._conns.append(conn)
                cut = self._down_mode == "outage" and time.monotonic() < self._down_until
            conn.start()
            if cut:  # an outage began while this connection was being set up
                conn.close()
        self._close_all()

    def _close_all(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.close()
        return conns

    def drop_all(self):
        """Closes every open connection now (the listener stays)."""
        self._close_all()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._listener is not None:
            self._listener.close()
        for c in self._held:
            c.close()
        self._held = []
        for c in self._close_all():
            c.join(5)
        alive = [t.name for c in self._conns for t in c.threads if t.is_alive()]
        if self._thread is not None and self._thread.is_alive():
            alive.append(self._thread.name)
        if alive:
            raise RuntimeError(f"fault proxy threads still running: {alive}")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False
