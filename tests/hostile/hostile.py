# Shared by the hostile-client tests: raw Kafka frames, many sockets at once, the broker's
# resident memory, and kcat round trips. `ferry serve` itself is started by the compat harness
# (tests/compat/harness.py: temp data dir, free 127.0.0.1 port, always stopped on exit).
import os
import resource
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
import harness  # noqa: E402  (re-exported for the tests)
from harness import CheckFailed, check, run  # noqa: E402,F401


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        raise CheckFailed(f"need {need} file descriptors, the hard limit allows {soft}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise CheckFailed(f"no VmRSS for pid {pid}")


def kstring(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def request(api_key, version, correlation_id, body, client_id="hostile"):
    """A whole request frame (size prefix, header v1, body)."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + kstring(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def fetch_v4(correlation_id, topic, partition=0, offset=0, max_bytes=52428800,
             partition_max_bytes=1048576, max_wait_ms=100):
    body = struct.pack(">iiiib", -1, max_wait_ms, 1, max_bytes, 0)
    body += struct.pack(">i", 1) + kstring(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, partition_max_bytes)
    return request(1, 4, correlation_id, body)


def connect_from(local_ip, port, timeout_s=5, rcvbuf=None):
    """A TCP connection to 127.0.0.1:port from `local_ip` (any 127.x.y.z is loopback)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: no scaling
    s.bind((local_ip, 0))
    s.settimeout(timeout_s)
    s.connect(("127.0.0.1", port))
    return s


def send_some(sock, data, budget_s=0.2):
    """Sends as much of `data` as the peer takes within `budget_s`; returns the bytes sent."""
    sock.setblocking(False)
    data = memoryview(data)
    sent = 0
    deadline = time.monotonic() + budget_s
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += sock.send(data[sent:sent + 1048576])
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    return sent


def kcat_round_trip(bootstrap, topic, count, timeout_s=30):
    """Produces `count` messages with kcat (acks=all) and reads them back with kcat; fails with
    kcat's output if either step does not complete."""
    lines = "".join(f"{topic}-message-{i}\n" for i in range(count)).encode()
    run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-X", "acks=all"],
        timeout_s=timeout_s, input_bytes=lines)
    out = run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e",
               "-c", str(count), "-q"], timeout_s=timeout_s)
    got = [line for line in out.stdout.decode(errors="replace").split("\n") if line]
    check(len(got) == count, f"kcat read back {len(got)} of {count} messages from {topic}")
