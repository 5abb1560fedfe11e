#!/usr/bin/python3
"""TLS listeners with real clients: `ferry serve` with a PLAINTEXT and an SSL listener
(ssl.client.auth=requested), certificates made by tests/support/make_certs.sh.

- kcat produces and consumes over SSL (verifying localhost), and with a client certificate
  (mTLS): the broker logs the principal User:CN=sensor7,OU=line2,O=acme;
- confluent-kafka produces and reads back over SSL with a client certificate, kafka-python and
  kafkajs over SSL, ferry's own CLI over SSL;
- a client certificate that is expired is refused;
- after SIGHUP reloads an expired certificate, one for another host, and one from an untrusted
  CA, kcat refuses each (and the connections opened before keep working); a bad file on SIGHUP
  is logged and the old certificate stays;
- plaintext to the TLS port and TLS to the plaintext port are closed (logged with the peer)
  while a producer keeps producing on the plaintext listener without an error.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CheckFailed, check, check_eq, step  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(HERE, "..", "support", "make_certs.sh")
PRINCIPAL = "User:CN=sensor7,OU=line2,O=acme"


def kcat(args, input_bytes=None, timeout_s=20):
    return subprocess.run(["kcat"] + args, input=input_bytes, capture_output=True,
                          timeout=timeout_s)


def body(args):
    if not shutil.which("kcat"):
        print("SKIP: kcat is not installed", flush=True)
        sys.exit(77)
    plain_port, ssl_port = harness.free_port(), harness.free_port()
    work = tempfile.mkdtemp(prefix="ferry-tls-certs-")
    certs = os.path.join(work, "certs")
    subprocess.run(["sh", MAKE_CERTS, certs], check=True)
    c = lambda name: os.path.join(certs, name)  # noqa: E731
    live_cert, live_key = os.path.join(work, "live.pem"), os.path.join(work, "live.key")

    def install(name):
        shutil.copyfile(c(name + ".pem"), live_cert)
        shutil.copyfile(c(name + ".key"), live_key)

    install("server")
    config = f"""[broker]
listeners = ["PLAINTEXT://127.0.0.1:{plain_port}", "SSL://127.0.0.1:{ssl_port}"]
ssl.certificate.location = "{live_cert}"
ssl.key.location = "{live_key}"
ssl.ca.location = "{c('ca.pem')}"
ssl.client.auth = "requested"
"""
    ssl_bootstrap = f"localhost:{ssl_port}"
    plain_bootstrap = f"127.0.0.1:{plain_port}"
    kcat_ssl = ["-b", ssl_bootstrap, "-X", "security.protocol=SSL",
                "-X", f"ssl.ca.location={c('ca.pem')}"]
    kcat_mtls = kcat_ssl + ["-X", f"ssl.certificate.location={c('client.pem')}",
                            "-X", f"ssl.key.location={c('client.key')}"]
    conf_ssl = {"bootstrap.servers": ssl_bootstrap, "security.protocol": "SSL",
                "ssl.ca.location": c("ca.pem")}
    conf_mtls = dict(conf_ssl, **{"ssl.certificate.location": c("client.pem"),
                                  "ssl.key.location": c("client.key")})

    with harness.Ferry(args.ferry, port=plain_port, config_text=config,
                       listen_flag=False) as ferry:
        harness.wait_for(lambda: harness.port_accepts("127.0.0.1", ssl_port), 10,
                         "the SSL listener accepts connections")

        step("kcat over SSL and mTLS")
        lines = b"".join(b"line-%d\n" % i for i in range(50))
        r = kcat(kcat_ssl + ["-P", "-t", "tls-kcat"], lines)
        check_eq(r.returncode, 0, f"kcat -P over SSL ({r.stderr.decode()[-300:]})")
        r = kcat(kcat_mtls + ["-C", "-t", "tls-kcat", "-o", "beginning", "-e", "-q"])
        check_eq(r.returncode, 0, f"kcat -C over mTLS ({r.stderr.decode()[-300:]})")
        check_eq(r.stdout, lines, "kcat reads back the 50 lines over mTLS")
        harness.wait_for(lambda: PRINCIPAL in ferry.log_text(), 5,
                         f"the broker logs the client certificate's principal {PRINCIPAL}")

        step("confluent-kafka over SSL with a client certificate")
        msgs = [{"key": b"k%d" % i, "value": b"v%d" % i} for i in range(200)]
        harness.admin_create_topic(plain_bootstrap, "tls-confluent", 2)
        produced = harness.produce_confluent(ssl_bootstrap, "tls-confluent", msgs, conf=conf_mtls)
        got = harness.consume_assigned(ssl_bootstrap, "tls-confluent", 2,
                                       {p: len(v) for p, v in produced.items()}, extra=conf_mtls)
        harness.check_same_partitions("tls-confluent", got, produced)

        step("kafka-python over SSL")
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        kp = KafkaProducer(bootstrap_servers=ssl_bootstrap, security_protocol="SSL",
                           ssl_cafile=c("ca.pem"), acks="all")
        futures = [kp.send("tls-kafka-python", b"kp-%d" % i) for i in range(30)]
        offsets = [f.get(timeout=15).offset for f in futures]
        kp.close()
        check_eq(offsets, list(range(30)), "kafka-python: 30 records acknowledged over SSL")
        kc = KafkaConsumer(bootstrap_servers=ssl_bootstrap, security_protocol="SSL",
                           ssl_cafile=c("ca.pem"), group_id=None, consumer_timeout_ms=5000)
        tp = TopicPartition("tls-kafka-python", 0)
        kc.assign([tp])
        kc.seek_to_beginning(tp)
        values = [m.value for m in kc]
        kc.close()
        check_eq(values, [b"kp-%d" % i for i in range(30)], "kafka-python reads them back")

        step("kafkajs over SSL")
        node = shutil.which("node")
        if node and os.path.isdir(os.path.join(HERE, "node_modules", "kafkajs")):
            r = subprocess.run([node, os.path.join(HERE, "kafkajs_tls.js"), ssl_bootstrap,
                                c("ca.pem"), "tls-kafkajs"], capture_output=True, timeout=60)
            print(r.stdout.decode(), end="", flush=True)
            check_eq(r.returncode, 0, f"kafkajs over SSL ({r.stderr.decode()[-400:]})")
        else:
            print("  SKIP kafkajs: run `npm ci --prefix tests/compat`", flush=True)

        step("ferry's CLI over SSL")
        r = subprocess.run([args.ferry, "produce", "--bootstrap", ssl_bootstrap, "--topic",
                            "tls-cli", "--ssl-ca-location", c("ca.pem")],
                           input=b"a\nb\nc\n", capture_output=True, timeout=30)
        check_eq(r.returncode, 0, f"ferry produce over SSL ({r.stderr.decode()[-300:]})")
        r = kcat(kcat_ssl + ["-C", "-t", "tls-cli", "-o", "beginning", "-e", "-q"])
        check_eq(r.stdout, b"a\nb\nc\n", "what ferry produce sent over SSL")
        r = subprocess.run([args.ferry, "topics", "--list", "--bootstrap", ssl_bootstrap,
                            "--ssl-ca-location", c("other-ca.pem")], capture_output=True,
                           timeout=30)
        check(r.returncode != 0 and b"not correctly signed" in r.stderr,
              f"ferry topics refuses an untrusted broker ({r.stderr.decode()[-200:]})")

        step("an expired client certificate is refused")
        r = kcat(kcat_ssl + ["-L", "-m", "3", "-X", f"ssl.certificate.location="
                             f"{c('client-expired.pem')}",
                             "-X", f"ssl.key.location={c('client-expired.key')}"])
        check(r.returncode != 0, "kcat with an expired client certificate gets no metadata")
        harness.wait_for(lambda: "client certificate verification failed" in ferry.log_text(),
                         5, "the broker logs why it refused the client certificate")

        step("clients refuse expired, wrong-host and untrusted broker certificates (SIGHUP)")
        from confluent_kafka import Producer
        keep = Producer(dict(conf_ssl, **{"acks": "all"}))  # a connection made before
        keep.produce("tls-keep", b"before")
        check_eq(keep.flush(15), 0, "a producer connected before the reloads")
        for name, why in (("expired", "expired"), ("wronghost", "ssl.endpoint"),
                          ("untrusted", "verify")):
            install(name)
            mark = ferry.log_text().count("TLS certificate reloaded")
            ferry.proc.send_signal(signal.SIGHUP)
            harness.wait_for(lambda: ferry.log_text().count("TLS certificate reloaded") > mark,
                             5, f"SIGHUP reloads the {name} certificate")
            r = kcat(kcat_ssl + ["-L", "-m", "3"])
            check(r.returncode != 0, f"kcat refuses the {name} broker certificate "
                                     f"({r.stderr.decode()[-160:].strip()})")
            keep.produce("tls-keep", name.encode())
            check_eq(keep.flush(15), 0, f"the earlier connection still produces ({name})")
        with open(live_cert, "w") as f:
            f.write("not a certificate\n")
        ferry.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "TLS reload failed, keeping the current certificate"
                         in ferry.log_text(), 5, "a bad file on SIGHUP is logged")
        install("server")
        ferry.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: kcat(kcat_ssl + ["-L", "-m", "3"]).returncode == 0, 10,
                         "the good certificate is served again after another SIGHUP")
        del keep

        step("wrong protocol on either port, while a producer keeps going")
        stop = threading.Event()
        errors, delivered = [], [0]

        def produce_loop():
            p = Producer({"bootstrap.servers": plain_bootstrap, "acks": "all", "linger.ms": 2})

            def cb(err, _msg):
                if err is not None:
                    errors.append(str(err))
                else:
                    delivered[0] += 1
            i = 0
            while not stop.is_set():
                p.produce("tls-steady", b"m%d" % i, on_delivery=cb)
                p.poll(0.005)
                i += 1
            p.flush(15)
        t = threading.Thread(target=produce_loop)
        t.start()
        try:
            time.sleep(0.3)
            r = kcat(["-b", f"127.0.0.1:{ssl_port}", "-L", "-m", "3"])
            check(r.returncode != 0, "plaintext kcat to the SSL port gets no metadata")
            r = kcat(["-b", plain_bootstrap, "-L", "-m", "3", "-X", "security.protocol=SSL",
                      "-X", f"ssl.ca.location={c('ca.pem')}"])
            check(r.returncode != 0, "kcat over SSL to the plaintext port gets no metadata")
        finally:
            stop.set()
            t.join(30)
        check(not errors, f"the plaintext producer saw no errors ({errors[:1]})")
        check(delivered[0] > 10, f"the plaintext producer went on ({delivered[0]} delivered)")
        log = ferry.log_text()
        check("not a TLS ClientHello" in log, "the broker logs the plaintext client on SSL")
        check("a TLS ClientHello on PLAINTEXT listener" in log,
              "the broker logs the TLS client on PLAINTEXT")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    harness.main(__doc__.splitlines()[0], body)
