#!/usr/bin/python3
# SASL over TLS (a SASL_SSL listener next to a PLAINTEXT one) with ACLs for the SASL principals,
# with real clients: kcat with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; confluent-kafka with
# SCRAM-SHA-512; kafka-python with PLAIN; kafkajs with SCRAM-SHA-256; ferry's CLI (topics, acls)
# as a super user. With the authorizer on, User:bob may write topic "granted" only: his write to
# "denied" fails with TOPIC_AUTHORIZATION_FAILED and stores nothing; a wrong password over TLS
# is refused with SASL_AUTHENTICATION_FAILED.
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, check_eq, run, step  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(HERE, "..", "support", "make_certs.sh")


def body(args):
    if not shutil.which("kcat"):
        print("SKIP: kcat is not installed", flush=True)
        sys.exit(77)
    from confluent_kafka import KafkaException, Producer
    ferry = args.ferry
    plain_port, sasl_port = harness.free_port(), harness.free_port()
    work = tempfile.mkdtemp(prefix="ferry-sasl-ssl-")
    certs = os.path.join(work, "certs")
    subprocess.run(["sh", MAKE_CERTS, certs], check=True, capture_output=True)
    ca = os.path.join(certs, "ca.pem")
    data_dir = os.path.join(work, "data")
    passwords = {"admin": "admin-secret", "bob": "bob-secret"}
    pw_files = {}
    for user, pw in passwords.items():
        pw_files[user] = os.path.join(work, user + ".pw")
        with open(pw_files[user], "w") as fh:
            fh.write(pw)

    step("users made offline: admin (SCRAM-SHA-256), bob (SCRAM-SHA-512)")
    run([ferry, "users", "add", "--data-dir", data_dir, "--user", "admin", "--mechanism",
         "SCRAM-SHA-256", "--password-file", pw_files["admin"]])
    run([ferry, "users", "add", "--data-dir", data_dir, "--user", "bob", "--mechanism",
         "SCRAM-SHA-512", "--password-file", pw_files["bob"]])

    config = f"""[broker]
listeners = ["PLAINTEXT://127.0.0.1:{plain_port}", "SASL_SSL://127.0.0.1:{sasl_port}"]
advertised.listeners = ["SASL_SSL://localhost:{sasl_port}"]
ssl.certificate.location = "{os.path.join(certs, 'server.pem')}"
ssl.key.location = "{os.path.join(certs, 'server.key')}"
sasl.enabled.mechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
sasl.failed.authentication.limit = 1000
authorizer.enabled = true
super.users = "User:admin"
"""
    sb = f"localhost:{sasl_port}"
    admin_cli = ["--bootstrap", sb, "--ssl-ca-location", ca, "--sasl-mechanism", "SCRAM-SHA-256",
                 "--sasl-username", "admin", "--sasl-password-file", pw_files["admin"]]

    def kcat(mech, user, password):
        return ["kcat", "-b", sb, "-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={ca}",
                "-X", f"sasl.mechanisms={mech}", "-X", f"sasl.username={user}",
                "-X", f"sasl.password={password}"]

    with harness.Ferry(ferry, port=plain_port, data_dir=data_dir, config_text=config,
                       listen_flag=False) as f:
        harness.wait_for(lambda: harness.port_accepts("127.0.0.1", sasl_port), 10,
                         "the SASL_SSL listener accepts connections")

        step("ferry topics and ferry acls over SASL_SSL as the super user")
        for topic in ("granted", "denied"):
            run([ferry, "topics", "--create", "--topic", topic, "--partitions", "1"] + admin_cli)
        run([ferry, "acls", "--add", "--allow-principal", "User:bob", "--operation", "Write",
             "--operation", "Describe", "--topic", "granted"] + admin_cli)
        listed = run([ferry, "acls", "--list"] + admin_cli).stdout.decode()
        check("User:bob" in listed, f"ferry acls --list shows bob's ACL: {listed.strip()}")

        step("kcat over SASL_SSL with PLAIN, SCRAM-SHA-256 (admin) and SCRAM-SHA-512 (bob)")
        run(kcat("PLAIN", "admin", "admin-secret") + ["-P", "-t", "granted"],
            input_bytes=b"plain-1\nplain-2\n")
        run(kcat("SCRAM-SHA-512", "bob", "bob-secret") + ["-P", "-t", "granted"],
            input_bytes=b"bob-1\nbob-2\n")
        got = run(kcat("SCRAM-SHA-256", "admin", "admin-secret") +
                  ["-C", "-t", "granted", "-o", "beginning", "-e", "-q"]).stdout.decode().split()
        check_eq(got, ["plain-1", "plain-2", "bob-1", "bob-2"], "records read back over SASL_SSL")

        step("confluent-kafka as bob (SCRAM-SHA-512): granted is written, denied is refused")
        conf = {"bootstrap.servers": sb, "security.protocol": "SASL_SSL", "ssl.ca.location": ca,
                "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "bob",
                "sasl.password": "bob-secret", "acks": "all", "message.timeout.ms": 10000}
        results = {}

        def report(err, msg):
            results.setdefault(msg.topic(), []).append(err)
        p = Producer(conf)
        p.produce("granted", b"ck-1", on_delivery=report)
        p.produce("denied", b"ck-2", on_delivery=report)
        check_eq(p.flush(20), 0, "every delivery report arrived")
        check_eq(results["granted"], [None], "bob's write to granted succeeds")
        err = results["denied"][0]
        check(err is not None and err.name() == "TOPIC_AUTHORIZATION_FAILED",
              f"bob's write to denied fails with TOPIC_AUTHORIZATION_FAILED (got {err})")
        offsets = run(kcat("SCRAM-SHA-256", "admin", "admin-secret") +
                      ["-Q", "-t", "denied:0:-1"]).stdout.decode()
        check("denied [0] offset 0" in offsets, f"nothing was stored in denied: {offsets.strip()}")

        step("kafka-python over SSL with SASL PLAIN (admin)")
        try:
            import kafka
        except ImportError:
            kafka = None
        if kafka is None:
            print("  SKIP: kafka-python is not installed", flush=True)
        else:
            common = dict(bootstrap_servers=sb, security_protocol="SASL_SSL", ssl_cafile=ca,
                          sasl_mechanism="PLAIN", sasl_plain_username="admin",
                          sasl_plain_password="admin-secret")
            kp = kafka.KafkaProducer(acks="all", **common)
            for i in range(3):
                kp.send("granted", f"kp-{i}".encode()).get(timeout=15)
            kp.close()
            kc = kafka.KafkaConsumer(group_id=None, consumer_timeout_ms=5000,
                                     auto_offset_reset="earliest", **common)
            kc.assign([kafka.TopicPartition("granted", 0)])
            values = [m.value.decode() for m in kc]
            kc.close()
            check_eq(values[-3:], ["kp-0", "kp-1", "kp-2"], "kafka-python reads its records")

        step("kafkajs over SSL with SCRAM-SHA-256 (admin)")
        if shutil.which("node"):
            node = harness.require_kafkajs()
            env = dict(os.environ, FERRY_KAFKAJS_CA=ca)
            run([node, os.path.join(HERE, "kafkajs_sasl.js"), sb, "SCRAM-SHA-256", "admin",
                 "admin-secret", "granted"], env=env, timeout_s=60)
            run([node, os.path.join(HERE, "kafkajs_sasl.js"), sb, "SCRAM-SHA-256", "admin",
                 "wrong", "granted", "expect-failure"], env=env, timeout_s=60)

        step("a wrong password over SASL_SSL is refused")
        r = run(kcat("SCRAM-SHA-512", "bob", "not-bobs") + ["-L", "-m", "5"], check_rc=False)
        out = (r.stdout + r.stderr).decode()
        check(r.returncode != 0 and ("Authentication failed" in out or "SASL" in out),
              f"kcat with a wrong password fails authentication: {out.strip()[-300:]}")


if __name__ == "__main__":
    harness.main("SASL_SSL with ACLs for SASL principals against ferry", body)
