#!/usr/bin/python3
# kafka-go 0.2.1's own integration tests (shipped by Debian's golang-github-segmentio-kafka-go-dev)
# against ferry. They hard-code localhost:9092, produce legacy magic-1 message sets (Produce v2)
# and read with Fetch v2, so the broker up-converts on produce and down-converts on fetch.
#
# The package is copied into a temporary GOPATH, its test binary built once, and run for
# TestConn, TestWriter and TestReader* (as `go test -run 'TestConn|TestWriter|TestReader'`
# would), consumer-group tests included (TestConn's group subtests, TestReaderConsumerGroup).
# TestConn's subtests are listed from the scenarios in conn_test.go so that the check can tell
# that every one of them ran.
import os
import re
import shutil
import sys
import tempfile

import harness
from harness import check, check_eq, run, step

PKG = "github.com/segmentio/kafka-go"
SRC = f"/usr/share/gocode/src/{PKG}"
PORT = 9092



def go_name(scenario):
    """The name `go test` gives a subtest: spaces become underscores."""
    return scenario.replace(" ", "_")


def conn_scenarios():
    text = open(os.path.join(SRC, "conn_test.go")).read()
    body = text[text.index("func TestConn(t *testing.T)"):]
    body = body[:body.index("\n}\n")]
    names = re.findall(r'scenario:\s*"([^"]+)"', body)
    return names + re.findall(r't\.Run\("([^"]+)"', body)


def parse_results(text):
    """{test name: PASS|FAIL|SKIP} from `-test.v` output."""
    return dict((m.group(2), m.group(1))
                for m in re.finditer(r"--- (PASS|FAIL|SKIP): (\S+)", text))


def body(args):
    go = harness.require_go()
    if not os.path.isdir(SRC):
        print(f"SKIP: {SRC} missing (golang-github-segmentio-kafka-go-dev)")
        sys.exit(77)
    for host in ("127.0.0.1", "::1"):
        if harness.port_accepts(host, PORT):
            raise harness.CheckFailed(f"port {PORT} on {host} is already in use; the kafka-go "
                                      "tests need localhost:9092 for ferry")
    conn_run = [go_name(s) for s in conn_scenarios()]
    check(len(conn_run) > 20, f"{len(conn_run)} TestConn subtests found in conn_test.go")

    with tempfile.TemporaryDirectory(prefix="ferry-compat-kafka-go-") as tmp:
        step("copy kafka-go into a GOPATH and build its test binary")
        gopath = os.path.join(tmp, "gopath")
        pkg_dir = os.path.join(gopath, "src", PKG)
        shutil.copytree(SRC, pkg_dir, symlinks=True)
        exe = os.path.join(tmp, "kafka-go.test")
        run([go, "test", "-c", "-o", exe, PKG], timeout_s=180, env=harness.go_env(gopath),
            cwd=pkg_dir)
        listed = run([exe, "-test.list", ".*"], timeout_s=30, cwd=pkg_dir).stdout.decode().split()
        top = [t for t in listed if re.search("TestConn|TestWriter|TestReader", t)
               and t != "TestConn"]

        config = os.path.join(tmp, "ferry.toml")
        with open(config, "w") as f:
            # testConnFindCoordinator treats node id 0 as "bad NodeID"; the suite's readers
            # expect groups to form without Kafka's 3 s initial rebalance delay.
            f.write("[broker]\nnode.id = 1\ngroup.initial.rebalance.delay.ms = 0\n")
        with harness.Ferry(args.ferry, port=PORT, extra_args=["--config", config]) as ferry:
            for topic in ("test-writer-0", "test-writer-1"):
                harness.admin_create_topic(ferry.bootstrap, topic, 3)
            runs = [("TestConn", "^TestConn$/^(" + "|".join(re.escape(n) for n in conn_run) + ")$",
                     ["TestConn/" + n for n in conn_run]),
                    ("TestWriter and TestReader*", "^(" + "|".join(top) + ")$", top)]
            failed = []
            for label, pattern, expected in runs:
                step(f"kafka-go {label}")
                p = run([exe, "-test.v", "-test.timeout", "150s", "-test.run", pattern],
                        timeout_s=170, cwd=pkg_dir, check_rc=False)
                out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
                results = parse_results(out)
                for line in out.splitlines():
                    if re.match(r"\s*--- (PASS|FAIL|SKIP)", line) or "_test.go:" in line:
                        print("  " + line.strip())
                missing = [n for n in expected if n not in results]
                bad = [n for n, r in results.items() if r == "FAIL"]
                if missing:
                    failed.append(f"{label}: selected tests that did not run: {missing}")
                else:
                    check(True, f"{label}: all {len(expected)} selected tests ran")
                if bad or p.returncode != 0:
                    if not bad:  # a panic or timeout: show the end of the output
                        print(out[-6000:])
                    failed.append(f"{label}: exit code {p.returncode}, failed: {bad}")
                else:
                    check(True, f"{label}: no failures")
            check_eq(failed, [], "kafka-go suite")


if __name__ == "__main__":
    harness.main("kafka-go 0.2.1 test suite against ferry", body)
