# The mirror's liveness end to end: a gateway `ferry serve` with three [[mirror]] sections
# forwarding to a second `ferry serve` (the central cluster) through a relay of this file.
#   1. heartbeats: records keyed "<node.id>/<mirror>" with a JSON value land on the central
#      heartbeats topic, and the status counts them;
#   2. watchdog: the relay goes silent on every open connection (no byte forwarded either way,
#      nothing closed: a TCP connection dead after a NAT rebind); forwarding resumes through a
#      new connection well within request.timeout.ms (20 s), the reconnect is counted, and the
#      target holds every record exactly once;
#   3. target.lost.policy: the target topics of two mirrors are deleted and re-created. With
#      `stop` the partition stops (also after a restart) and nothing more is sent; with `resend`
#      the gateway's records are forwarded again, once each, in order.
# --watchdog-ms 0 runs the same with the watchdog off: step 2 must then fail (the check that the
# test can fail).
import argparse
import json
import os
import select
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

from harness import (CheckFailed, Ferry, check, check_eq, free_port, step, wait_for,  # noqa: E402
                     admin_create_topic, consume_assigned)
from mirror_harness import mirror_status, mirrors_of  # noqa: E402


class SilentRelay:
    """A TCP relay on 127.0.0.1 that can go silent: silence() stops forwarding, in both
    directions, on every connection open at that moment, without closing any of them (their
    sockets stay open until stop()). Connections made afterwards are relayed normally."""

    def __init__(self, port, target_port):
        self.port = port
        self.target_port = target_port
        self.lock = threading.Lock()
        self.pairs = []  # [client socket, upstream socket, silent flag (a one-item list)]
        self.connections = 0
        self.running = True
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                c.close()
                continue
            silent = [False]
            with self.lock:
                self.pairs.append((c, u, silent))
                self.connections += 1
            t = threading.Thread(target=self._pump, args=(c, u, silent), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, c, u, silent):
        peer = {c: u, u: c}
        while self.running and not silent[0]:
            try:
                ready, _, _ = select.select([c, u], [], [], 0.1)
            except (OSError, ValueError):
                return
            if silent[0]:
                return  # from now on nothing moves; the sockets stay open
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    for x in (c, u):
                        try:
                            x.close()
                        except OSError:
                            pass
                    return
                try:
                    peer[s].sendall(data)
                except OSError:
                    return

    def silence(self):
        with self.lock:
            for _, _, silent in self.pairs:
                silent[0] = True
            return len(self.pairs)

    def stop(self):
        self.running = False
        self.listener.close()
        with self.lock:
            for c, u, _ in self.pairs:
                for x in (c, u):
                    try:
                        x.close()
                    except OSError:
                        pass
        for t in self.threads:
            t.join(timeout=2)


def partition_of(status, mirror, topic):
    for p in mirrors_of(status).get(mirror, {}).get("partitions", []):
        if p["topic"] == topic and p["partition"] == 0:
            return p
    return None


def produce(bootstrap, topic, start, count):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "enable.idempotence": True, "batch.num.messages": 25})
    errors = []
    for i in range(start, start + count):
        p.produce(topic, partition=0, key=f"k{i}", value=f"{topic}:{i}",
                  on_delivery=lambda e, m: e and errors.append(str(e)))
    left = p.flush(20)
    check(not errors and left == 0, f"{topic}: {count} records produced from {start}")


def values(bootstrap, topic, want, timeout_s=15):
    got = consume_assigned(bootstrap, topic, 1, {0: want}, timeout_s=timeout_s)
    return [v.decode() for _, _, v in got[0]]


def delete_topics(bootstrap, topics):
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for t, f in admin.delete_topics(topics, operation_timeout=15, request_timeout=15).items():
        try:
            f.result(timeout=15)
        except Exception as e:
            raise CheckFailed(f"DeleteTopics {t} failed: {e}")
    print(f"  deleted {topics}", flush=True)


def body(args):
    relay_port = free_port()
    central = Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{relay_port}"])
    with central:
        relay = SilentRelay(relay_port, central.port)
        try:
            common = f"""bootstrap.servers = "127.0.0.1:{relay_port}"
request.timeout.ms = 20000
watchdog.timeout.ms = {args.watchdog_ms}
reconnect.backoff.ms = 50
reconnect.backoff.max.ms = 500
heartbeats.interval.ms = 300
"""
            config = f"""
[[mirror]]
name = "central"
topics = ["l\\\\.a"]
{common}
[[mirror]]
name = "stopper"
topics = ["l\\\\.stop"]
target.lost.policy = "stop"
{common}
[[mirror]]
name = "resender"
topics = ["l\\\\.resend"]
target.lost.policy = "resend"
{common}"""
            gateway = Ferry(args.ferry, config_text=config)
            with gateway:
                run_steps(args, central, relay, gateway)
        finally:
            relay.stop()


def run_steps(args, central, relay, gateway):
    for t in ("l.a", "l.stop", "l.resend"):
        admin_create_topic(gateway.bootstrap, t, 1)

    step("heartbeats reach the central heartbeats topic")
    produce(gateway.bootstrap, "l.a", 0, 200)

    def forwarded(mirror, topic, n):
        p = partition_of(mirror_status(args.ferry, gateway.data_dir), mirror, topic)
        return p is not None and p["forwarded"] == n and p["state"] == "forwarding"
    wait_for(lambda: forwarded("central", "l.a", 200), 20, "l.a forwarded up to 200")
    wait_for(lambda: all(m["heartbeats_sent"] >= 2 and m["heartbeat_ok_ms"] > 0
                         for m in mirrors_of(mirror_status(args.ferry, gateway.data_dir)).values()),
             10, "every mirror's heartbeats acknowledged")
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": central.bootstrap, "group.id": "liveness-unused",
                  "enable.auto.commit": False})
    beats = []
    try:
        c.assign([TopicPartition("ferry.heartbeats", 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 10
        # Until every mirror's heartbeat is there and one of "central" counts its partition
        # (the first ones went out before the topics existed).
        while time.monotonic() < deadline and (
                len({k for k, _, _ in beats}) < 3 or
                not any(k == "0/central" and v["partitions"] == 1 for k, v, _ in beats)):
            m = c.poll(0.2)
            if m is not None and not m.error():
                beats.append((m.key().decode(), json.loads(m.value()), m.timestamp()[1]))
    finally:
        c.close()
    check_eq(sorted({k for k, _, _ in beats}), ["0/central", "0/resender", "0/stopper"],
             "heartbeat keys <node.id>/<mirror>")
    k, v, ts = [b for b in beats if b[0] == "0/central"][-1]
    check(v["node"] == 0 and v["mirror"] == "central" and v["sent_ms"] == ts and
          v["partitions"] == 1 and "records_behind" in v, f"heartbeat value {v}")

    step("the relay goes silent on every open connection; the watchdog reconnects")
    before = mirrors_of(mirror_status(args.ferry, gateway.data_dir))["central"]["reconnects"]
    silenced = relay.silence()
    print(f"  silenced {silenced} connections", flush=True)
    started = time.monotonic()
    produce(gateway.bootstrap, "l.a", 200, 100)
    # request.timeout.ms is 20 s: only the watchdog (1.5 s) can get this done within 10 s.
    wait_for(lambda: forwarded("central", "l.a", 300), 10,
             "l.a forwarded up to 300 through a new connection")
    took = time.monotonic() - started
    after = mirrors_of(mirror_status(args.ferry, gateway.data_dir))["central"]
    print(f"  resumed after {took:.1f}s; reconnects {before} -> {after['reconnects']}; "
          f"last error: {after['last_error']}", flush=True)
    check(after["reconnects"] > before, "the watchdog's close counted as a reconnect")
    got = values(central.bootstrap, "l.a", 300)
    check_eq(got, [f"l.a:{i}" for i in range(300)], "l.a on the target: 300 records, once, in order")
    p = partition_of(mirror_status(args.ferry, gateway.data_dir), "central", "l.a")
    check(p["records_sent"] >= 300 and p["bytes_sent"] > 0 and p["last_ack_ms"] > 0 and
          p["bytes_behind"] == 0, f"partition counters {p}")

    step("target.lost.policy: the target topics are deleted and re-created")
    produce(gateway.bootstrap, "l.stop", 0, 100)
    produce(gateway.bootstrap, "l.resend", 0, 100)
    wait_for(lambda: forwarded("stopper", "l.stop", 100) and
             forwarded("resender", "l.resend", 100), 20, "both forwarded up to 100")
    delete_topics(central.bootstrap, ["l.stop", "l.resend"])
    admin_create_topic(central.bootstrap, "l.stop", 1)
    admin_create_topic(central.bootstrap, "l.resend", 1)

    # stop, noticed at the next acknowledgement: the target placed new records below the
    # offset it had acknowledged before.
    produce(gateway.bootstrap, "l.stop", 100, 50)

    def stopped():
        p = partition_of(mirror_status(args.ferry, gateway.data_dir), "stopper", "l.stop")
        return p is not None and p["state"] == "stopped"
    wait_for(stopped, 15, "l.stop stopped")
    p = partition_of(mirror_status(args.ferry, gateway.data_dir), "stopper", "l.stop")
    check(p["target_lost"] >= 1 and p["records_resent"] == 0 and p["forwarded"] == 100,
          f"l.stop: the loss counted, nothing resent ({p})")
    check("l.stop/0: the target l.stop/0" in gateway.log_text() and
          "forwarding of this partition stopped" in gateway.log_text(), "the loss logged")

    # resend, noticed on start: the reconciliation finds the target below its checkpoint.
    gateway.restart()
    wait_for(lambda: forwarded("resender", "l.resend", 100), 20, "l.resend forwarded again")
    wait_for(stopped, 10, "l.stop still stopped after a restart")
    produce(gateway.bootstrap, "l.resend", 100, 50)
    produce(gateway.bootstrap, "l.stop", 150, 10)
    wait_for(lambda: forwarded("resender", "l.resend", 150), 20, "l.resend forwarded up to 150")
    p = partition_of(mirror_status(args.ferry, gateway.data_dir), "resender", "l.resend")
    check(p["target_lost"] == 1 and p["records_resent"] == 100, f"l.resend: 100 resent ({p})")
    check("RESENDING source offsets 0 to 99" in gateway.log_text(), "the resent range logged")
    got = values(central.bootstrap, "l.resend", 150)
    check_eq(got, [f"l.resend:{i}" for i in range(150)],
             "l.resend on the re-created target: 150 records, once each, in order")
    time.sleep(1.0)  # let a stopped partition have its chance to (wrongly) send
    p = partition_of(mirror_status(args.ferry, gateway.data_dir), "stopper", "l.stop")
    check(p["state"] == "stopped" and p["forwarded"] == 100, f"l.stop: still stopped ({p})")
    stop_values = values(central.bootstrap, "l.stop", 50, timeout_s=3)
    check(all(int(v.split(":")[1]) >= 100 for v in stop_values) and len(stop_values) <= 50,
          f"l.stop: only what landed before the loss was noticed ({len(stop_values)} records)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--watchdog-ms", type=int, default=1500)
    args = ap.parse_args()
    start = time.monotonic()
    try:
        body(args)
    except CheckFailed as e:
        print(f"FAIL mirror liveness: {e}", flush=True)
        sys.exit(1)
    print(f"PASS mirror liveness ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
