#!/usr/bin/env bash
# Interop suite: real third-party clients (confluent-kafka-python, kafka-python, kcat, and the
# exact HTTP traffic of the ImFlog Gradle plugin / Java client) driving a real `charter serve`.
#
# Usage: compat-tests/interop/run.sh [extra pytest args]
#
# Environment:
#   CHARTER_BIN         charter binary to test (default: build `charter-broker`, use target/debug/charter)
#   CHARTER_SERDE_BIN   the charter-serde driver (default: build the compat-tests example serde_roundtrip)
#   CARGO_TARGET_DIR    honoured when building
#   CHARTER_VENV        Python venv to create/reuse (default: $HOME/.cache/charter-venv)
#   CHARTER_READY_SECS  how long to wait for the server to answer `GET /` (default: 30)
#
# Exports to the tests: CHARTER_REGISTRY_URL, CHARTER_KAFKA_BOOTSTRAP, CHARTER_BIN, CHARTER_DATA_DIR,
# CHARTER_SERDE_BIN.
# Exits with pytest's exit code; "no tests collected" (pytest exit 5) is turned into a failure.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd)"
# A relative CHARTER_BIN is relative to the caller's directory.
if [[ -n "${CHARTER_BIN:-}" && "$CHARTER_BIN" != /* ]]; then
    CHARTER_BIN="$PWD/$CHARTER_BIN"
fi
if [[ -n "${CHARTER_SERDE_BIN:-}" && "$CHARTER_SERDE_BIN" != /* ]]; then
    CHARTER_SERDE_BIN="$PWD/$CHARTER_SERDE_BIN"
fi
cd "$REPO_ROOT"

log() { printf 'interop: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- charter binary
if [[ -n "${CHARTER_BIN:-}" ]]; then
    [[ -x "$CHARTER_BIN" ]] || { log "CHARTER_BIN=$CHARTER_BIN is not an executable file"; exit 2; }
else
    log "building charter-broker"
    cargo build -p charter-broker
    CHARTER_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/charter"
    [[ -x "$CHARTER_BIN" ]] || { log "build did not produce $CHARTER_BIN"; exit 2; }
fi
CHARTER_BIN="$(cd -- "$(dirname -- "$CHARTER_BIN")" && pwd)/$(basename -- "$CHARTER_BIN")"
export CHARTER_BIN

# ---------------------------------------------------------------- charter-serde driver
# test_rust_serde.py drives charter-serde through compat-tests/examples/serde_roundtrip.rs.
if [[ -n "${CHARTER_SERDE_BIN:-}" ]]; then
    [[ -x "$CHARTER_SERDE_BIN" ]] || { log "CHARTER_SERDE_BIN=$CHARTER_SERDE_BIN is not an executable file"; exit 2; }
else
    log "building the serde_roundtrip example"
    cargo build -p charter-compat-tests --example serde_roundtrip
    CHARTER_SERDE_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/examples/serde_roundtrip"
    [[ -x "$CHARTER_SERDE_BIN" ]] || { log "build did not produce $CHARTER_SERDE_BIN"; exit 2; }
fi
export CHARTER_SERDE_BIN

# ---------------------------------------------------------------- python venv
VENV="${CHARTER_VENV:-${HOME:-/tmp}/.cache/charter-venv}"
# Versions known to install from the package index this project uses. confluent-kafka 2.16.1's
# extras need a certifi release the index lacks, so stay on 2.16.0.
REQUIREMENTS=(
    'confluent-kafka[avro,protobuf,json,schemaregistry]==2.16.0'
    'pytest==9.2.0'
    'requests==2.34.2'
    'kafka-python==2.3.3'
)
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { log "python3 not found"; exit 2; }

venv_works() {
    local probe
    probe="$(mktemp -d)"
    if "$PY" -m venv "$probe/v" >/dev/null 2>&1 && "$probe/v/bin/python" -m pip --version >/dev/null 2>&1; then
        rm -rf "$probe"
        return 0
    fi
    rm -rf "$probe"
    return 1
}

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! venv_works; then
        if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
            log "python3 -m venv does not work; installing python3-venv"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq </dev/null
            apt-get install -y -qq python3-venv </dev/null
        fi
        venv_works || { log "python3 -m venv does not work here (need python3-venv)"; exit 2; }
    fi
    log "creating venv $VENV"
    rm -rf "$VENV"
    mkdir -p "$(dirname -- "$VENV")"
    "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.charter-interop-requirements"
WANT="$(printf '%s\n' "${REQUIREMENTS[@]}")"
if [[ ! -f "$STAMP" ]] || [[ "$(cat "$STAMP")" != "$WANT" ]] \
    || ! "$VENV/bin/python" -c 'import confluent_kafka.schema_registry.avro, fastavro, pytest, requests' >/dev/null 2>&1; then
    log "installing ${REQUIREMENTS[*]}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" </dev/null
    printf '%s\n' "$WANT" > "$STAMP"
fi
VPY="$VENV/bin/python"

# ---------------------------------------------------------------- kafkajs (npm)
# node_modules live outside the clone, keyed by package.json, so reruns are instant.
NODE_DIR="${CHARTER_NODE_DIR:-$HOME/.cache/charter-node}"
if command -v npm >/dev/null; then
    mkdir -p "$NODE_DIR"
    if ! cmp -s "$SCRIPT_DIR/kafkajs/package.json" "$NODE_DIR/package.json"; then
        log "installing kafkajs into $NODE_DIR"
        cp "$SCRIPT_DIR/kafkajs/package.json" "$NODE_DIR/package.json"
        (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent </dev/null)
    fi
    export NODE_PATH="$NODE_DIR/node_modules"
else
    log "npm not found: the kafkajs test will fail"
fi

# ---------------------------------------------------------------- server
WORK="$(mktemp -d "${TMPDIR:-/tmp}/charter-interop.XXXXXX")"
DATA_DIR="$WORK/data"
SERVER_LOG="$WORK/charter.log"
mkdir -p "$DATA_DIR"
SERVER_PID=""

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    local rc=$?
    stop_server
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$VPY" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

wait_ready() {
    # Polls GET / until it answers 200 `{}`; fails early if the server process died.
    "$VPY" - "$1" "$2" "$SERVER_PID" <<'EOF'
import json, os, sys, time, urllib.request
url, secs, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(3)
    try:
        with urllib.request.urlopen(url + "/", timeout=2) as r:
            if r.status == 200 and json.loads(r.read() or b"null") == {}:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

start_server() {
    local attempt port rc
    for attempt in 1 2 3; do
        port="$(free_port)"
        kport="$(free_port)"
        "$CHARTER_BIN" serve --data-dir "$DATA_DIR" --registry-listen "127.0.0.1:$port" \
            --kafka-listen "127.0.0.1:$kport" >>"$SERVER_LOG" 2>&1 </dev/null &
        SERVER_PID=$!
        rc=0
        wait_ready "http://127.0.0.1:$port" "${CHARTER_READY_SECS:-30}" || rc=$?
        if [[ $rc == 0 ]]; then
            REGISTRY_URL="http://127.0.0.1:$port"
            KAFKA_BOOTSTRAP="127.0.0.1:$kport"
            return 0
        fi
        stop_server
        if [[ $rc == 3 ]]; then
            log "charter exited during startup (attempt $attempt), log:"
            tail -n 30 "$SERVER_LOG" >&2 || true
            continue   # most likely the port was taken in between; try another
        fi
        log "charter did not become ready within ${CHARTER_READY_SECS:-30}s, log:"
        tail -n 30 "$SERVER_LOG" >&2 || true
        return 1
    done
    return 1
}

start_server || { log "could not start charter registry"; exit 2; }
log "charter serve ($CHARTER_BIN): registry $REGISTRY_URL, kafka $KAFKA_BOOTSTRAP, data in $DATA_DIR"

export CHARTER_REGISTRY_URL="$REGISTRY_URL"
export CHARTER_KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP"
export CHARTER_BIN
export CHARTER_DATA_DIR="$DATA_DIR"
# Keep the work tree clean: no __pycache__ or .pytest_cache in the repo.
export PYTHONDONTWRITEBYTECODE=1

rc=0
"$VPY" -m pytest -q -p no:cacheprovider --rootdir "$SCRIPT_DIR" "$SCRIPT_DIR" "$@" </dev/null || rc=$?
if [[ $rc == 5 ]]; then
    log "pytest collected no tests: failing"
    rc=1
fi
if [[ $rc != 0 ]]; then
    log "last lines of the server log ($SERVER_LOG):"
    tail -n 40 "$SERVER_LOG" >&2 || true
fi
exit "$rc"
