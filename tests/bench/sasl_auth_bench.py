#!/usr/bin/python3
# Full SCRAM authentications per second on one broker core: `ferry serve` pinned to CPU 0
# (taskset) with a SASL_PLAINTEXT listener; client processes on the other CPUs each loop over
# connect + ApiVersions v0 + SaslHandshake v1 + SaslAuthenticate v1 (client-first, client-final)
# + close, checking the server signature. Prints authentications per second and per CPU-second
# of the broker (from /proc/<pid>/stat), so a busy shared machine still gives a usable figure.
# Clients compute the salted password once (as a client that caches it would): the broker's
# side of SCRAM is HMACs and hashes, PBKDF2 runs only when a credential is made.
# With --ssl the listener is SASL_SSL (an ECDSA P-256 certificate from
# tests/support/make_certs.sh) and every authentication starts with a full TLS handshake (no
# session resumption): the cost of a new SASL_SSL client.
#
#   tests/bench/sasl_auth_bench.py --ferry build/native/src/app/ferry [--seconds 5] [--clients 2]
#                                  [--ssl]
import argparse
import base64
import hashlib
import hmac
import multiprocessing
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame(api_key, version, corr, body, flexible=False):
    hdr = struct.pack(">hhih", api_key, version, corr, 5) + b"bench"
    if flexible:
        hdr += b"\x00"
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


def recv_frame(s):
    def exact(n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out
    (n,) = struct.unpack(">i", exact(4))
    return exact(n)


def kbytes(b):
    return struct.pack(">i", len(b)) + b


def parse_auth_v1(resp):
    # correlation id, error_code, error_message (nullable string), auth_bytes, session lifetime
    pos = 4
    (err,) = struct.unpack_from(">h", resp, pos)
    pos += 2
    (mlen,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + max(mlen, 0)
    (blen,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    return err, resp[pos:pos + blen]


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port))
    if tls is None:
        return s
    return tls.wrap_socket(s, server_hostname="localhost")


def authenticate(port, user, salted, tls=None):
    with connect(port, tls) as s:
        s.sendall(frame(18, 0, 1, b""))
        recv_frame(s)
        s.sendall(frame(17, 1, 2, struct.pack(">h", 13) + b"SCRAM-SHA-256"))
        recv_frame(s)
        cnonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={user},r={cnonce}"
        s.sendall(frame(36, 1, 3, kbytes(("n,," + first_bare).encode())))
        err, server_first = parse_auth_v1(recv_frame(s))
        assert err == 0, err
        attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
        without_proof = f"c=biws,r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first.decode()},{without_proof}".encode()
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        final = f"{without_proof},p={base64.b64encode(proof).decode()}"
        s.sendall(frame(36, 1, 4, kbytes(final.encode())))
        err, server_final = parse_auth_v1(recv_frame(s))
        assert err == 0, err
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        want = hmac.new(server_key, auth_msg, hashlib.sha256).digest()
        assert server_final.decode() == "v=" + base64.b64encode(want).decode()


def client_tls(ca):
    if ca is None:
        return None
    ctx = ssl.create_default_context(cafile=ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # what the broker speaks; no session reuse
    return ctx


def worker(port, salted, seconds, counter, ca):
    tls = client_tls(ca)
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        authenticate(port, "bench", salted, tls)
        n += 1
    with counter.get_lock():
        counter.value += n


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--ssl", action="store_true", help="a SASL_SSL listener: TLS handshake too")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ferry-sasl-bench-")
    try:
        pw = os.path.join(work, "pw")
        with open(pw, "w") as f:
            f.write("bench-password")
        data = os.path.join(work, "data")
        subprocess.run([args.ferry, "users", "add", "--data-dir", data, "--user", "bench",
                        "--password-file", pw], check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([args.ferry, "users", "list", "--data-dir", data], check=True,
                             capture_output=True).stdout.decode()
        assert "iterations=4096" in out
        port, sport = free_port(), free_port()
        ca = None
        tls_keys = ""
        if args.ssl:
            certs = os.path.join(work, "certs")
            os.mkdir(certs)
            subprocess.run(["sh", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "../support/make_certs.sh"), certs],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ca = os.path.join(certs, "ca.pem")
            tls_keys = (f'ssl.certificate.location = "{certs}/server.pem"\n'
                        f'ssl.key.location = "{certs}/server.key"\n')
        protocol = "SASL_SSL" if args.ssl else "SASL_PLAINTEXT"
        cfg = os.path.join(work, "ferry.toml")
        with open(cfg, "w") as f:
            f.write(f'[broker]\nlisteners = ["PLAINTEXT://127.0.0.1:{port}", '
                    f'"{protocol}://127.0.0.1:{sport}"]\n'
                    "max.connections.per.ip = 100000\n" + tls_keys)
        tls = client_tls(ca)
        taskset = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        proc = subprocess.Popen(taskset + [args.ferry, "serve", "--config", cfg, "--data-dir",
                                           data, "--log-level", "warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", sport), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            # The client's salted password, from the salt the broker hands out.
            with connect(sport, tls) as s:
                s.sendall(frame(17, 1, 1, struct.pack(">h", 13) + b"SCRAM-SHA-256"))
                recv_frame(s)
                s.sendall(frame(36, 1, 2, kbytes(b"n,,n=bench,r=probe")))
                _, sf = parse_auth_v1(recv_frame(s))
            attrs = dict(a.split("=", 1) for a in sf.decode().split(","))
            salted = hashlib.pbkdf2_hmac("sha256", b"bench-password",
                                         base64.b64decode(attrs["s"]), int(attrs["i"]))
            authenticate(sport, "bench", salted, tls)  # one checked exchange before timing
            counter = multiprocessing.Value("q", 0)
            cpu0 = cpu_seconds(proc.pid)
            t0 = time.monotonic()
            ps = [multiprocessing.Process(target=worker,
                                          args=(sport, salted, args.seconds, counter, ca))
                  for _ in range(args.clients)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            wall = time.monotonic() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
            n = counter.value
            print(f"SCRAM-SHA-256 full authentications over {protocol} (connect"
                  f"{' + full TLS handshake' if args.ssl else ''} + ApiVersions + handshake + "
                  f"2 SaslAuthenticate, iterations {attrs['i']}), broker pinned to one core:")
            print(f"  {n} in {wall:.2f} s = {n / wall:.0f}/s; broker CPU {cpu:.2f} s = "
                  f"{n / cpu if cpu > 0 else float('inf'):.0f} per broker CPU-second "
                  f"({args.clients} client processes)")
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
