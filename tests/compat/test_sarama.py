#!/usr/bin/python3
# sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev) against ferry: builds
# sarama_client/main.go in GOPATH mode and runs it. It produces with config.Version unset
# (Produce v0, magic 0), V0_10_2_0 (v2, magic 1), V1_0_0_0 and V2_0_0_0 (v3, magic 2), with
# gzip/snappy/lz4 legacy wrappers and batches, and reads every topic back with partition
# consumers of each version (Fetch v0..v4, so the broker down-converts to magic 0 and 1).
# One V2_0_0_0 producer is idempotent (InitProducerId v0, producer ids and sequences).
import os
import sys
import tempfile

import harness
from harness import check, check_eq, run, step

HERE = os.path.dirname(os.path.abspath(__file__))
SARAMA = "/usr/share/gocode/src/github.com/Shopify/sarama"


def body(args):
    go = harness.require_go()
    if not os.path.isdir(SARAMA):
        print(f"SKIP: {SARAMA} missing (golang-github-shopify-sarama-dev)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="ferry-compat-go-") as tmp:
        step("build sarama_client (GOPATH mode)")
        gopath = os.path.join(tmp, "gopath")
        os.makedirs(gopath)
        exe = os.path.join(tmp, "sarama_client")
        run([go, "build", "-o", exe, "."], timeout_s=180, env=harness.go_env(gopath),
            cwd=os.path.join(HERE, "sarama_client"))
        with harness.Ferry(args.ferry) as ferry:
            run_client(exe, ferry)


def run_client(exe, ferry):
    step("run sarama_client")
    cmd = [exe, "-brokers", ferry.bootstrap]
    if os.environ.get("FERRY_COMPAT_DEBUG"):
        cmd.append("-debug")
    p = run(cmd, timeout_s=120, check_rc=False)
    sys.stdout.write(p.stdout.decode(errors="replace"))
    sys.stdout.write(p.stderr.decode(errors="replace")[-20000:])
    check_eq(p.returncode, 0, "sarama_client passed all its checks")
    # The idempotent variant really ran as one: ferry handed sarama a producer id.
    with open(ferry.log_path, errors="replace") as f:
        log = f.read()
    check("client ferry-compat-sarama is idempotent producer" in log,
          "sarama's idempotent producer got a producer id from ferry (InitProducerId v0)")


if __name__ == "__main__":
    harness.main("sarama against ferry", body)
