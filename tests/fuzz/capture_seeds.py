#!/usr/bin/python3
# Records the request frames kcat sends to a `ferry serve` (metadata, produce, fetch, list
# offsets, group membership and commits) through a small relay, and writes one file per
# (api key, version) into tests/fuzz/seeds/broker_request/: the frame without its size prefix,
# as broker_request_fuzz takes it. Run by hand after a protocol change:
#   /usr/bin/python3 tests/fuzz/capture_seeds.py --ferry build/native/src/app/ferry
import os
import socket
import struct
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
import harness  # noqa: E402

OUT = os.path.join(HERE, "seeds", "broker_request")
frames = {}


def relay(client, port):
    upstream = socket.create_connection(("127.0.0.1", port))
    buf = b""

    def back():
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                client.sendall(data)
        except OSError:
            pass
        client.close()

    threading.Thread(target=back, daemon=True).start()
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            upstream.sendall(data)
            buf += data
            while len(buf) >= 4 and len(buf) - 4 >= struct.unpack(">i", buf[:4])[0]:
                n = struct.unpack(">i", buf[:4])[0]
                frame, buf = buf[4:4 + n], buf[4 + n:]
                key, version = struct.unpack(">hh", frame[:4])
                frames.setdefault((key, version), frame)
    except OSError:
        pass
    upstream.close()


def body(args):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    relay_port = lsock.getsockname()[1]
    # The broker advertises the relay, so every connection kcat opens goes through it.
    with harness.Ferry(args.ferry, extra_args=["--advertised", f"127.0.0.1:{relay_port}"]) as ferry:

        def accept_loop():
            while True:
                try:
                    c, _ = lsock.accept()
                except OSError:
                    return
                threading.Thread(target=relay, args=(c, ferry.port), daemon=True).start()

        threading.Thread(target=accept_loop, daemon=True).start()
        bs = f"127.0.0.1:{relay_port}"
        msgs = "".join(f"key{i}:value-{i}\n" for i in range(50)).encode()
        harness.run(["kcat", "-P", "-b", bs, "-t", "seed", "-K:", "-X", "acks=all"],
                    input_bytes=msgs)
        harness.run(["kcat", "-L", "-b", bs])
        harness.run(["kcat", "-C", "-b", bs, "-t", "seed", "-o", "beginning", "-e", "-q"])
        harness.run(["kcat", "-C", "-b", bs, "-G", "seedgroup", "seed", "-e", "-q"],
                    timeout_s=30, check_rc=False)
        lsock.close()
    os.makedirs(OUT, exist_ok=True)
    for (key, version), frame in sorted(frames.items()):
        with open(os.path.join(OUT, f"api{key}-v{version}"), "wb") as f:
            f.write(frame)
    print(f"  wrote {len(frames)} seeds to {OUT}", flush=True)


if __name__ == "__main__":
    harness.main("capture fuzz seeds", body)
