"""Starting extra `charter serve` processes for tests that kill or reconfigure a broker."""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(data_dir, kafka_port=None, advertised=None, extra=()):
    """Starts `charter serve` on `data_dir`; returns (process, bootstrap "host:port").

    The process carries `registry_url`.

    `advertised` is the host:port put in metadata (e.g. a proxy in front of the broker).
    """
    assert os.environ.get("CHARTER_BIN"), "run through compat-tests/interop/run.sh"
    rport, kport = free_port(), kafka_port or free_port()
    args = [os.environ["CHARTER_BIN"], "serve", "--data-dir", data_dir,
            "--registry-listen", f"127.0.0.1:{rport}", "--kafka-listen", f"127.0.0.1:{kport}",
            *extra]
    if advertised:
        args += ["--advertised-kafka-address", advertised]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.registry_url = f"http://127.0.0.1:{rport}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            try:
                urllib.request.urlopen(f"{proc.registry_url}/", timeout=1)
            except urllib.error.HTTPError:
                pass  # it answered (401 with authentication on): it is up
            with socket.create_connection(("127.0.0.1", kport), timeout=1):
                return proc, f"127.0.0.1:{kport}"
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"charter serve exited with {proc.returncode}")
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("charter serve did not start")
