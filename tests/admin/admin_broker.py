"""A `ferry serve` for the admin listener's tests and benchmark: its own data directory and
config under `work` (Kafka and admin listeners on ephemeral 127.0.0.1 ports, plus `extra` TOML
lines in [broker]), started and waited for until both listeners log their ports."""
import os
import re
import subprocess
import tempfile
import time


class AdminBroker:
    def __init__(self, ferry, work, extra="", start_timeout_s=20, stop_timeout_s=15):
        self.dir = tempfile.mkdtemp(dir=work)
        self.conf = os.path.join(self.dir, "ferry.toml")
        self.stop_timeout_s = stop_timeout_s
        with open(self.conf, "w") as f:
            f.write(f'[broker]\ndata.dir = "{self.dir}/data"\nlisten = "127.0.0.1:0"\n'
                    f'admin.listen = "127.0.0.1:0"\n{extra}\n')
        self.log_path = os.path.join(self.dir, "serve.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([ferry, "serve", "--config", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self.admin = None
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            text = open(self.log_path).read()
            m = re.search(r"admin listener serving on 127\.0\.0\.1:(\d+)", text)
            k = re.search(r"listener serving on 127\.0\.0\.1:(\d+)", text)
            if m and k:
                self.admin, self.port = int(m.group(1)), int(k.group(1))
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("broker did not start:\n" + open(self.log_path).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
