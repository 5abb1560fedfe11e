#!/usr/bin/env python3
"""`ferry serve` under a fake service manager: the sd_notify protocol and journald logging.

    notify_test.py FERRY_BINARY

A Unix datagram socket made here plays systemd's NOTIFY_SOCKET. Checked: READY=1 arrives only
once the Kafka port accepts connections, with STATUS= lines before it; WATCHDOG=1 comes
periodically at half of WATCHDOG_USEC; STOPPING=1 follows SIGTERM; the pings stop when the loop
is stalled on purpose (FERRY_TEST_STALL_LOOP_AFTER_MS, a test-only hook); an abstract-namespace
NOTIFY_SOCKET ('@name') works too; a WATCHDOG_PID naming another process turns pings off. With
JOURNAL_STREAM naming stderr's file, lines carry "<6>" priorities and no timestamp; with a
JOURNAL_STREAM that names another file they keep the plain format.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

FERRY = os.path.abspath(sys.argv[1])
DEADLINE_S = 20


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Broker:
    """A `ferry serve` child on an ephemeral port, stderr captured in a file."""

    def __init__(self, tmp, name, env_extra, stderr_path=None):
        self.data = os.path.join(tmp, name)
        self.stderr_path = stderr_path or os.path.join(tmp, name + ".log")
        self.err = open(self.stderr_path, "wb")
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
            env.pop(k, None)
        env.update(env_extra(self.err) if callable(env_extra) else env_extra)
        self.proc = subprocess.Popen(
            [FERRY, "serve", "--data-dir", self.data, "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        self.port = None

    def wait_port(self):
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            with open(self.stderr_path, "rb") as f:
                m = re.search(rb"serving on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                fail("ferry exited early: " + open(self.stderr_path).read())
            time.sleep(0.02)  # polling a file for a line: bounded, not synchronisation
        fail("no 'serving on' line")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.err.close()


def receiver(tmp, abstract=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "ferry-notify-test-%d" % os.getpid()
        s.bind("\0" + name)
        addr = "@" + name
    else:
        addr = os.path.join(tmp, "notify.sock")
        s.bind(addr)
    return s, addr


def recv(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).decode()
    except socket.timeout:
        return None


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(sock, key, timeout):
    """Messages up to and including the first one containing line `key`; None on timeout."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = recv(sock, max(0.01, end - time.monotonic()))
        if m is None:
            break
        seen.append(m)
        if key in m.split("\n"):
            return seen
    return None


def test_ready_watchdog_stopping(tmp):
    sock, addr = receiver(tmp)
    b = Broker(tmp, "main", {"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "400000"})
    try:
        msgs = wait_for(sock, "READY=1", DEADLINE_S)
        if msgs is None:
            fail("no READY=1")
        # READY=1 is sent after the listener is up: the port accepts right now.
        port = b.wait_port()
        if not port_accepts(port):
            fail("READY=1 sent but port %d does not accept" % port)
        if not any(l.startswith("STATUS=") for m in msgs for l in m.split("\n")):
            fail("no STATUS= line before or with READY=1: %r" % msgs)
        ready = [m for m in msgs if "READY=1" in m.split("\n")][0]
        if "STATUS=serving on port %d" % port not in ready.split("\n"):
            fail("READY=1 without the serving status: %r" % ready)
        # Pings at half of 400 ms: expect at least 4 in 1.5 s.
        start = time.monotonic()
        pings = 0
        while time.monotonic() - start < 1.5:
            m = recv(sock, 1.0)
            if m is not None and "WATCHDOG=1" in m.split("\n"):
                pings += 1
        if pings < 4:
            fail("only %d WATCHDOG=1 in 1.5 s at WATCHDOG_USEC=400000" % pings)
        b.proc.send_signal(signal.SIGTERM)
        if wait_for(sock, "STOPPING=1", DEADLINE_S) is None:
            fail("no STOPPING=1 after SIGTERM")
        if b.proc.wait(timeout=DEADLINE_S) != 0:
            fail("ferry exited with %d after SIGTERM" % b.proc.returncode)
        print("ok: READY=1 after the port accepts, %d pings in 1.5 s, STOPPING=1" % pings)
    finally:
        b.stop()
        sock.close()


def test_stall_stops_pings(tmp):
    sock, addr = receiver(tmp, abstract=True)
    b = Broker(tmp, "stall", {"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "200000",
                              "FERRY_TEST_STALL_LOOP_AFTER_MS": "500"})
    try:
        if wait_for(sock, "READY=1", DEADLINE_S) is None:
            fail("no READY=1 on an abstract socket")
        if wait_for(sock, "WATCHDOG=1", 2) is None:
            fail("no WATCHDOG=1 before the stall")
        # The stall starts 500 ms after start-up; from then on no ping may arrive.
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            with open(b.stderr_path, "rb") as f:
                if b"stalling the event loop" in f.read():
                    break
            time.sleep(0.02)
        else:
            fail("the stall hook did not fire")
        while recv(sock, 0.15) is not None:  # drain pings sent before the stall
            pass
        late = recv(sock, 1.0)  # five ping intervals
        if late is not None:
            fail("a notification arrived while the loop was stalled: %r" % late)
        print("ok: abstract NOTIFY_SOCKET; no pings while the loop is stalled")
    finally:
        b.stop()
        sock.close()


def test_watchdog_pid_mismatch(tmp):
    sock, addr = receiver(tmp, abstract=True)
    b = Broker(tmp, "pid", {"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "100000",
                            "WATCHDOG_PID": "1"})
    try:
        if wait_for(sock, "READY=1", DEADLINE_S) is None:
            fail("no READY=1")
        m = recv(sock, 0.6)
        if m is not None and "WATCHDOG=1" in m.split("\n"):
            fail("pinged although WATCHDOG_PID names another process")
        print("ok: WATCHDOG_PID of another process: no pings")
    finally:
        b.stop()
        sock.close()


def test_journal_format(tmp):
    def journal_env(f):
        st = os.fstat(f.fileno())
        return {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}

    b = Broker(tmp, "journal", journal_env)
    try:
        b.wait_port()
    finally:
        b.stop()
    lines = open(b.stderr_path).read().splitlines()
    serving = [l for l in lines if "serving on" in l]
    if not serving or not re.match(r"^<6>broker: .*serving on", serving[0]):
        fail("journal format: %r" % lines[:5])
    if any(not re.match(r"^<[3467]>\S+: ", l) for l in lines):
        fail("a line without a priority prefix: %r" % lines)

    b = Broker(tmp, "plain", {"JOURNAL_STREAM": "1:1"})
    try:
        b.wait_port()
    finally:
        b.stop()
    lines = open(b.stderr_path).read().splitlines()
    if not re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z INFO ", lines[0]):
        fail("JOURNAL_STREAM of another file changed the format: %r" % lines[0])
    print("ok: <N> prefixes under journald, plain lines otherwise")


def main():
    with tempfile.TemporaryDirectory(prefix="ferry-systemd-") as tmp:
        test_ready_watchdog_stopping(tmp)
        test_stall_stops_pings(tmp)
        test_watchdog_pid_mismatch(tmp)
        test_journal_format(tmp)
    print("PASS")


if __name__ == "__main__":
    main()
