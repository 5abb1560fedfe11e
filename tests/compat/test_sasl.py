#!/usr/bin/python3
# SASL on a SASL_PLAINTEXT listener next to a PLAINTEXT one, with real clients: the first user
# made offline (`ferry users add --data-dir`) before the broker starts, a second online
# (`ferry users add --bootstrap`, AlterUserScramCredentials); kcat and confluent-kafka with
# PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; kafka-python with PLAIN and SCRAM (its handshake v0
# and raw tokens); kafkajs with SCRAM-SHA-256 and PLAIN; ferry's own produce/consume/topics with
# SCRAM. A wrong password and an unknown user are refused with SASL_AUTHENTICATION_FAILED while
# a producer on the plaintext listener keeps going, and nothing but the SASL APIs is served
# before authentication.
import os
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import check, check_eq, run, step


class SaslFerry(harness.Ferry):
    """ferry serve with a PLAINTEXT listener (self.port) and a SASL_PLAINTEXT one."""

    def __init__(self, binary):
        super().__init__(binary)
        self.sasl_port = None

    def _start_once(self):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.sasl_port is None or not self.fixed_port:
            self.sasl_port = harness.free_port()
        self.config_path = os.path.join(self.workdir, "ferry.toml")
        with open(self.config_path, "w") as f:
            f.write("[broker]\n"
                    f'listeners = ["PLAINTEXT://127.0.0.1:{self.port}", '
                    f'"SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}"]\n'
                    'sasl.enabled.mechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]\n'
                    # Every client here connects from 127.0.0.1: keep the lockout out of the way
                    # (the unit tests cover it).
                    "sasl.failed.authentication.limit = 1000\n")
        self.starts += 1
        self.log_path = os.path.join(self.workdir, f"ferry-{self.starts}.log")
        cmd = [self.binary, "serve", "--config", self.config_path, "--data-dir", self.data_dir,
               "--log-level", self.log_level]
        print(f"  starting: {' '.join(cmd)} (log {self.log_path})", flush=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.exit_expected = False
        deadline = time.monotonic() + harness.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.dump_log()
                return False
            if harness.port_accepts("127.0.0.1", self.port) and \
                    harness.port_accepts("127.0.0.1", self.sasl_port):
                return True
            time.sleep(0.05)
        self._kill_quietly()
        raise harness.CheckFailed("ferry did not accept connections")

    @property
    def sasl_bootstrap(self):
        return f"127.0.0.1:{self.sasl_port}"


def kcat_sasl(bootstrap, mech, user, password):
    return ["kcat", "-b", bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", f"sasl.mechanisms={mech}", "-X", f"sasl.username={user}",
            "-X", f"sasl.password={password}"]


def confluent_conf(bootstrap, mech, user, password):
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password}


def body(args):
    import confluent_kafka
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    ferry = args.ferry
    f = SaslFerry(ferry)
    pw_alice = os.path.join(f.workdir, "alice.pw")
    pw_bob = os.path.join(f.workdir, "bob.pw")
    with open(pw_alice, "w") as fh:
        fh.write("alice-secret\n")
    with open(pw_bob, "w") as fh:
        fh.write("bob-secret")

    step("the first user is created offline, before the broker starts")
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        run([ferry, "users", "add", "--data-dir", f.data_dir, "--user", "alice", "--mechanism",
             mech, "--password-file", pw_alice])
    listed = run([ferry, "users", "list", "--data-dir", f.data_dir]).stdout.decode()
    check("alice SCRAM-SHA-256(iterations=4096) SCRAM-SHA-512(iterations=4096)" in listed,
          f"users list shows alice's mechanisms: {listed.strip()}")
    check("secret" not in listed, "users list shows no password")

    with f:
        sb = f.sasl_bootstrap
        ferry_sasl = ["--bootstrap", sb, "--sasl-mechanism", "SCRAM-SHA-256",
                      "--sasl-username", "alice", "--sasl-password-file", pw_alice]

        step("nothing but ApiVersions/SaslHandshake/SaslAuthenticate before authentication")
        with socket.create_connection(("127.0.0.1", f.sasl_port), timeout=5) as s:
            # Metadata v0 with no topics: the broker closes the connection without answering.
            req = struct.pack(">hhih", 3, 0, 1, 4) + b"probe" [:4] + struct.pack(">i", 0)
            s.sendall(struct.pack(">i", len(req)) + req)
            check_eq(s.recv(64), b"", "Metadata before authentication: connection closed")

        step("a second user is created online (AlterUserScramCredentials)")
        run([ferry, "users", "add", "--user", "bob", "--mechanism", "SCRAM-SHA-512",
             "--password-file", pw_bob] + ferry_sasl)
        listed = run([ferry, "users", "list"] + ferry_sasl).stdout.decode()
        check("bob SCRAM-SHA-512(iterations=4096)" in listed, f"online list shows bob: {listed}")

        step("kcat with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512")
        for mech, user, pw in (("PLAIN", "alice", "alice-secret"),
                               ("SCRAM-SHA-256", "alice", "alice-secret"),
                               ("SCRAM-SHA-512", "bob", "bob-secret")):
            topic = "kcat-" + mech.lower()
            run(kcat_sasl(sb, mech, user, pw) + ["-P", "-t", topic],
                input_bytes=b"one\ntwo\nthree\n", timeout_s=30)
            out = run(kcat_sasl(sb, mech, user, pw) + ["-C", "-t", topic, "-o", "beginning",
                                                          "-e", "-q"], timeout_s=30)
            check_eq(out.stdout.decode().split(), ["one", "two", "three"],
                     f"kcat {mech}: produced and consumed")

        step("confluent-kafka with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512")
        for mech, user, pw in (("PLAIN", "alice", "alice-secret"),
                               ("SCRAM-SHA-256", "alice", "alice-secret"),
                               ("SCRAM-SHA-512", "bob", "bob-secret")):
            topic = "ck-" + mech.lower()
            conf = confluent_conf(sb, mech, user, pw)
            p = Producer(conf)
            for i in range(5):
                p.produce(topic, f"ck-{i}".encode())
            check_eq(p.flush(20), 0, f"confluent {mech}: 5 records acknowledged")
            c = Consumer(dict(conf, **{"group.id": f"ck-{mech}", "auto.offset.reset": "earliest"}))
            c.subscribe([topic])
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 5 and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is not None and not m.error():
                    got.append(m.value().decode())
            c.close()
            check_eq(sorted(got), [f"ck-{i}" for i in range(5)], f"confluent {mech}: read back")
        admin = AdminClient(confluent_conf(sb, "SCRAM-SHA-256", "alice", "alice-secret"))
        if hasattr(admin, "describe_user_scram_credentials"):
            d = admin.describe_user_scram_credentials(["alice"])
            check("alice" in str(d), "AdminClient describes alice")
        else:
            print(f"  (confluent-kafka {confluent_kafka.version()[0]} has no "
                  "alter/describe_user_scram_credentials; covered by `ferry users`)", flush=True)

        step("kafka-python with PLAIN and SCRAM (handshake v0, raw tokens)")
        try:
            import kafka  # noqa: F401
            from kafka import KafkaConsumer, KafkaProducer
        except ImportError:
            kafka = None
        if kafka is not None:
            for mech, user, pw in (("PLAIN", "alice", "alice-secret"),
                                   ("SCRAM-SHA-256", "alice", "alice-secret"),
                                   ("SCRAM-SHA-512", "bob", "bob-secret")):
                topic = "kp-" + mech.lower()
                common = dict(bootstrap_servers=sb, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism=mech, sasl_plain_username=user,
                              sasl_plain_password=pw, api_version=(2, 0, 0))
                p = KafkaProducer(acks="all", **common)
                for i in range(3):
                    p.send(topic, f"kp-{i}".encode()).get(timeout=20)
                p.close()
                c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                                  **common)
                got = [m.value.decode() for m in c]
                c.close()
                check_eq(sorted(got), ["kp-0", "kp-1", "kp-2"], f"kafka-python {mech}")

        step("kafkajs with SCRAM-SHA-256 and PLAIN")
        node = harness.require_kafkajs()
        here = os.path.dirname(os.path.abspath(__file__))
        for mech in ("SCRAM-SHA-256", "PLAIN"):
            run([node, os.path.join(here, "kafkajs_sasl.js"), sb, mech, "alice", "alice-secret",
                 "kj-" + mech.lower()], timeout_s=60)
        run([node, os.path.join(here, "kafkajs_sasl.js"), sb, "SCRAM-SHA-256", "alice", "wrong",
             "kj-x", "expect-failure"], timeout_s=60)

        step("ferry's CLI with SCRAM: topics, produce, consume")
        run([ferry, "topics", "--create", "--topic", "cli-sasl", "--partitions", "1"] + ferry_sasl)
        check("cli-sasl" in run([ferry, "topics", "--list"] + ferry_sasl).stdout.decode(),
              "ferry topics --list over SASL")
        run([ferry, "produce", "--topic", "cli-sasl"] + ferry_sasl, input_bytes=b"a\nb\n")
        out = run([ferry, "consume", "--topic", "cli-sasl", "--from-beginning",
                   "--max-messages", "2"] + ferry_sasl, timeout_s=30)
        check_eq(out.stdout.decode().split(), ["a", "b"], "ferry consume over SASL")

        step("wrong password and unknown user refused while plaintext producing goes on")
        stop = threading.Event()
        acked = []

        def produce_plain():
            p = Producer({"bootstrap.servers": f.bootstrap, "linger.ms": 0})
            while not stop.is_set():
                p.produce("plain-side", b"x", on_delivery=lambda e, m: acked.append(e is None))
                p.poll(0.02)
            p.flush(10)

        t = threading.Thread(target=produce_plain)
        t.start()
        try:
            wait_start = len(acked)
            harness.wait_for(lambda: len(acked) > wait_start, 15, "plaintext producer acks")
            for user, pw in (("alice", "wrong"), ("mallory", "whatever")):
                for mech in ("SCRAM-SHA-256", "PLAIN"):
                    r = run(kcat_sasl(sb, mech, user, pw) + ["-L", "-m", "3"], timeout_s=30,
                            check_rc=False)
                    text = (r.stdout + r.stderr).decode()
                    check(r.returncode != 0, f"kcat {mech} as {user} with a bad password fails")
                    check("Authentication failed" in text or "SASL_AUTHENTICATION_FAILED" in text
                          or "SASL authentication error" in text,
                          f"kcat {mech} {user}: authentication failure reported")
            before = len(acked)
            harness.wait_for(lambda: len(acked) > before + 5, 15,
                             "plaintext producer still acknowledged")
        finally:
            stop.set()
            t.join(30)
        check(all(acked), "every plaintext record acknowledged")
        log = f.log_text()
        check("SASL authentication failed" in log and "127.0.0.1" in log,
              "failed authentications logged with the peer address")
        check("alice-secret" not in log and "wrong" not in log.split("SASL")[0],
              "no password in the log")


if __name__ == "__main__":
    harness.main("SASL PLAIN/SCRAM with real clients", body)
