#!/usr/bin/env python3
"""Runs the peer suites' tests against fresh `charter serve` instances and reports them.

Called by run.sh once the builds are done. One test is one process (a librdkafka test number
under `test-runner`, a rust-rdkafka `#[test]` under its test binary), so a crash or a hang is
that test's failure alone and has its own log. Each suite (and each librdkafka scenario) gets
its own server with a fresh data directory, configured as that suite's own Kafka setup is.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# `### Test "0011_produce_batch (subtest)" failed at file:line:fn() at date: ###` + the reason
TEST_FAILED = re.compile(r'### Test "((?!<MAIN>)[^"]+)" failed at [^\n]*###\n([^\n]*)')
# librdkafka's test-runner summary rows: "| 0001_multiobj   |     PASSED |   1.234s | reason"
SUMMARY_ROW = re.compile(r"^\|\s*(\d{4}_\w+)\s*\|\s*([A-Z_]+)\s*\|\s*[0-9.]+s\s*\|\s*(.*)$")

# The Kafka setups the suites were written against (librdkafka: tests/scenarios/*.json run by
# trivup; rust-rdkafka: its docker-compose.yaml), expressed as `charter serve` flags.
SCENARIOS = {
    ("librdkafka", "default"): ["--default-partitions", "4", "--auto-create-topics", "true"],
    ("librdkafka", "noautocreate"): ["--default-partitions", "4", "--auto-create-topics", "false"],
    # Its docker-compose broker is node 0 (test_admin::test_configs describes broker 0).
    ("rust-rdkafka", "default"): ["--default-partitions", "3", "--auto-create-topics", "true", "--node-id", "0"],
}
# librdkafka's tests gate features on the broker version they are told (test.c's default).
LIBRDKAFKA_BROKER_VERSION = "2.4.0"


def read_list(path):
    """`suite id rest-of-line` rows of a list file; lines starting with `#` are comments."""
    rows = {}
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 2:
                sys.exit(f"{path}:{n}: expected `suite id reason`")
            rows[(parts[0], parts[1])] = parts[2] if len(parts) > 2 else ""
    return rows


def lookup(rows, suite, test_id):
    """A row for this test, or for the rust-rdkafka binary that holds it."""
    if (suite, test_id) in rows:
        return rows[(suite, test_id)]
    if suite == "rust-rdkafka" and "::" in test_id:
        return rows.get((suite, test_id.split("::", 1)[0]))
    return None


# ---------------------------------------------------------------- test discovery

def librdkafka_tests(tests_dir):
    """(id, number, scenario) of every broker test in test.c's table.

    Local tests (TEST_F_LOCAL: unit tests and mock-cluster tests that never talk to a broker) and
    manual ones are not conformance tests of a broker; 1000+ need non-standard setups.
    """
    src = open(os.path.join(tests_dir, "test.c")).read()
    table = src[src.index("struct test tests[] = {"):]
    table = table[: table.index("{NULL}")]
    found = {}
    for chunk in table.split("_TEST(")[1:]:
        m = re.match(r"\s*(\d{4})_\w+\s*,\s*([^,)]*)", chunk)
        if not m:
            continue
        num, flags = m.group(1), m.group(2)
        if "TEST_F_LOCAL" in flags or "TEST_F_MANUAL" in flags or int(num) >= 1000:
            continue
        sc = re.search(r'\.scenario\s*=\s*"([^"]*)"', chunk)
        for scenario in (sc.group(1).split(",") if sc else ["default"]):
            if ("librdkafka", scenario) not in SCENARIOS:
                continue
            tid = num if scenario == "default" else f"{num}:{scenario}"
            found[tid] = (tid, num, scenario)
    return sorted(found.values())


def rust_rdkafka_tests(bins_file):
    """(id, binary, test name) of every test in rust-rdkafka's integration test binaries."""
    out = []
    for line in open(bins_file):
        name, path = line.strip().split(" ", 1)
        listing = subprocess.run([path, "--list", "--format", "terse"], capture_output=True,
                                 text=True, check=True, stdin=subprocess.DEVNULL).stdout
        for row in listing.splitlines():
            if row.endswith(": test"):
                test = row[: -len(": test")]
                # tests/utils.rs is a module of every test binary and a test target of its own:
                # run its tests once, as the `utils` target.
                if name != "utils" and test.startswith("utils::"):
                    continue
                out.append((f"{name}::{test}", path, test))
    return sorted(out)


# ---------------------------------------------------------------- server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `charter serve` on free loopback ports with its own data directory."""

    def __init__(self, charter, flags, log_path):
        self.charter, self.flags, self.log_path = charter, flags, log_path
        self.proc = None
        self.dir = None

    def start(self):
        for _ in range(3):
            self.dir = tempfile.mkdtemp(prefix="charter-peer.")
            rport, kport = free_port(), free_port()
            cmd = [self.charter, "serve", "--data-dir", os.path.join(self.dir, "data"),
                   "--registry-listen", f"127.0.0.1:{rport}",
                   "--kafka-listen", f"127.0.0.1:{kport}", *self.flags]
            log = open(self.log_path, "a")
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            if self._ready(f"http://127.0.0.1:{rport}/", kport):
                self.bootstrap = f"127.0.0.1:{kport}"
                return
            self.stop()  # most likely a port was taken in between: try others
        raise RuntimeError(f"charter serve did not become ready (log: {self.log_path})")

    def _ready(self, url, kport):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        with socket.create_connection(("127.0.0.1", kport), timeout=2):
                            return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------- running one test

def run_process(cmd, cwd, env, log_path, timeout):
    """Runs cmd with its output in log_path; returns (exit code or None on timeout, output)."""
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    with open(log_path, errors="replace") as f:
        return rc, f.read()


def run_librdkafka(test, ctx):
    tid, num, scenario = test
    env = dict(os.environ, TESTS=num, RDKAFKA_TEST_CONF=ctx["conf"],
               TEST_KAFKA_VERSION=LIBRDKAFKA_BROKER_VERSION,
               LD_LIBRARY_PATH=":".join(filter(None, [os.environ.get("LD_LIBRARY_PATH"),
                                                      "../src", "../src-cpp"])))
    # CI=true makes the test-runner skip or stretch things on its own; keep runs comparable.
    env.pop("CI", None)
    cmd = ["./test-runner", "-L", "-p1", "-s", scenario] + (["-Q"] if ctx["quick"] else [])
    log = os.path.join(ctx["results"], f"librdkafka-{tid.replace(':', '-')}.log")
    rc, out = run_process(cmd, ctx["dir"], env, log, ctx["timeout"])
    rows = [SUMMARY_ROW.match(ANSI.sub("", l)) for l in out.splitlines()]
    rows = [(m.group(1), m.group(2), m.group(3).strip()) for m in rows if m]
    if rc is None:
        return "fail", f"killed after {ctx['timeout']}s", log
    failed = [f"{n}: {why}" for n, st, why in rows if st in ("FAILED", "RUNNING") and why]
    if rc != 0 or failed:
        # A failed assertion aborts the runner before its summary: take the first failure block.
        first = TEST_FAILED.search(ANSI.sub("", out))
        if first:
            failed = [f"{first.group(1)}: {first.group(2).strip()}"]
        return "fail", "; ".join(failed) or f"test-runner exited {rc}", log
    ran = [n for n, st, _ in rows if st == "PASSED"]
    if ran:
        return "pass", "", log
    skipped = [f"{n}: {why}" for n, st, why in rows if st == "SKIPPED"]
    return "skip", "; ".join(skipped) or "nothing ran", log


def run_rust_rdkafka(test, ctx):
    tid, binary, name = test
    env = dict(os.environ, KAFKA_HOST=ctx["bootstrap"], RUST_LOG="off", RUST_BACKTRACE="1")
    env.pop("KAFKA_VERSION", None)  # unset = "the latest Kafka" to the tests' version gates
    cmd = [binary, "--exact", name, "--test-threads=1"]
    log = os.path.join(ctx["results"], f"rust-rdkafka-{tid.replace('::', '-')}.log")
    rc, out = run_process(cmd, os.path.dirname(binary), env, log, ctx["timeout"])
    if rc is None:
        return "fail", f"killed after {ctx['timeout']}s", log
    if rc != 0:
        panic = re.search(r"panicked at (.*)\n(.*)", out)
        return "fail", (panic.group(1) + ": " + panic.group(2)) if panic else f"exit {rc}", log
    if re.search(r"test result: ok\. 1 passed", out):
        return "pass", "", log
    return "skip", "ignored by the suite", log


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--charter", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--lists", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--librdkafka-tests")
    ap.add_argument("--rust-rdkafka-bins")
    a = ap.parse_args()

    excluded = read_list(os.path.join(a.lists, "exclusions.txt"))
    known = read_list(os.path.join(a.lists, "known-failures.txt"))
    quick = read_list(os.path.join(a.lists, "quick.txt"))
    only = set(filter(None, a.only.split(",")))

    suites = []
    if a.librdkafka_tests:
        suites.append(("librdkafka", librdkafka_tests(a.librdkafka_tests)))
    if a.rust_rdkafka_bins:
        suites.append(("rust-rdkafka", rust_rdkafka_tests(a.rust_rdkafka_bins)))

    results = []  # (suite, id, outcome, detail)
    exclusions_shown = []
    lock = threading.Lock()
    started = time.monotonic()
    for suite, tests in suites:
        ids = {t[0] for t in tests}
        for (s, tid) in list(excluded) + list(known) + list(quick):
            base = tid.split("::", 1)[0] if s == "rust-rdkafka" else tid
            if s == suite and tid not in ids and not any(i.startswith(base + "::") for i in ids):
                print(f"peer-suites: warning: {s} {tid} is listed but not in the suite")
        selected = []
        for t in tests:
            tid = t[0]
            if only and tid not in only:
                continue
            reason = lookup(excluded, suite, tid)
            if reason is not None:
                exclusions_shown.append((suite, tid, reason))
                continue
            if a.quick and not only and lookup(quick, suite, tid) is None:
                continue
            selected.append(t)
        scenarios = sorted({t[2] for t in selected}) if suite == "librdkafka" else ["default"]
        for scenario in scenarios:
            batch = [t for t in selected if suite != "librdkafka" or t[2] == scenario]
            if not batch:
                continue
            server = Server(a.charter, SCENARIOS[(suite, scenario)],
                            os.path.join(a.results, f"charter-{suite}-{scenario}.log"))
            try:
                server.start()
            except (OSError, RuntimeError) as e:
                print(f"peer-suites: could not start charter serve: {e}", flush=True)
                return 2
            print(f"\n==== {suite} ({scenario} scenario): {len(batch)} tests against "
                  f"charter serve {' '.join(server.flags)} at {server.bootstrap}", flush=True)
            ctx = {"results": a.results, "timeout": a.timeout, "quick": a.quick,
                   "bootstrap": server.bootstrap}
            if suite == "librdkafka":
                ctx["dir"] = a.librdkafka_tests
                ctx["conf"] = os.path.join(a.results, f"test-{scenario}.conf")
                with open(ctx["conf"], "w") as f:
                    f.write(f"metadata.broker.list={server.bootstrap}\n")
                run = run_librdkafka
            else:
                run = run_rust_rdkafka

            def one(t, run=run, ctx=ctx, suite=suite):
                t0 = time.monotonic()
                try:
                    outcome, detail, log = run(t, ctx)
                except (OSError, subprocess.SubprocessError) as e:
                    outcome, detail, log = "fail", f"could not run it: {e}", "-"
                bug = lookup(known, suite, t[0])
                if bug is not None:
                    outcome = "known" if outcome == "fail" else outcome
                    if outcome == "pass":
                        detail = f"passes although known-failures.txt lists it ({bug})"
                    elif outcome == "known":
                        detail = f"{bug} -- {detail}"
                with lock:
                    label = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP",
                             "known": "KNOWN FAILURE"}[outcome]
                    print(f"{label:14} {suite} {t[0]}  ({time.monotonic() - t0:.0f}s)"
                          + (f"  {detail}" if detail else "")
                          + (f"  [log {log}]" if outcome == "fail" else ""), flush=True)
                    results.append((suite, t[0], outcome, detail))

            try:
                with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
                    list(pool.map(one, batch))
                if not server.alive():
                    print(f"FAIL           {suite}: charter serve exited during the run "
                          f"(log {server.log_path})")
                    results.append((suite, "charter serve", "fail", "exited during the run"))
            finally:
                server.stop()

    # ------------------------------------------------------------ report
    print(f"\n==== peer suites: {'quick' if a.quick else 'full'} run, "
          f"{time.monotonic() - started:.0f}s")
    for suite, _ in suites:
        rs = [r for r in results if r[0] == suite]
        count = {k: sum(1 for r in rs if r[2] == k) for k in ("pass", "fail", "known", "skip")}
        nexcl = sum(1 for e in exclusions_shown if e[0] == suite)
        print(f"{suite}: {count['pass']} passed, {count['fail']} failed, "
              f"{count['known']} known failures, {count['skip']} skipped by the suite itself, "
              f"{nexcl} excluded")
    for kind, title in (("fail", "failed"), ("known", "known failures (filed Charter bugs)"),
                        ("skip", "skipped by the suite itself")):
        rs = sorted(r for r in results if r[2] == kind)
        if rs:
            print(f"\n{title}:")
            for suite, tid, _, detail in rs:
                print(f"  {suite} {tid}: {detail}")
    if exclusions_shown:
        print("\nexcluded (exclusions.txt):")
        for suite, tid, reason in sorted(exclusions_shown):
            print(f"  {suite} {tid}: {reason}")
    npass = sum(1 for r in results if r[2] == "pass")
    nfail = sum(1 for r in results if r[2] == "fail")
    print(f"\npeer-suites: {npass} passed, {nfail} failed")
    if not results:
        print("peer-suites: no test ran")
        return 1
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
