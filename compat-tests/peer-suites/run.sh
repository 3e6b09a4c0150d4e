#!/usr/bin/env bash
# Peer suites: librdkafka's own broker test suite (tests/ of the librdkafka source inside the
# rdkafka-sys crate) and rust-rdkafka's integration tests (tests/*.rs of the rdkafka crate), both
# the exact versions this workspace's Cargo.lock pins, run against a fresh `charter serve`.
#
# Usage: compat-tests/peer-suites/run.sh [--quick] [--suite librdkafka|rust-rdkafka]
#                                        [--only ID[,ID...]]
#   --quick   the subset listed in quick.txt (CI); without it every test of both suites that
#             exclusions.txt does not exclude
#   --suite   run one suite only
#   --only    run just these test ids of the selected suite(s) (ids as in the list files)
#
# Files beside this script (one test a line: `suite id reason`; `#` lines are comments):
#   exclusions.txt      tests not run, and why
#   known-failures.txt  tests that fail today because of a filed Charter bug: run, reported as
#                       "known failure", do not fail the script
#   quick.txt           the --quick selection
#
# Environment:
#   CHARTER_BIN         charter binary to test (default: build `charter-broker`, target/debug/charter)
#   CARGO_TARGET_DIR    honoured when building charter
#   CHARTER_PEER_CACHE  builds of librdkafka and of rust-rdkafka's tests, and the last run's logs
#                       (default: $HOME/.cache/charter-peer-suites; outside the clone, so reruns
#                       are incremental)
#   PEER_JOBS           tests run at once (default 2)
#   PEER_TEST_TIMEOUT   seconds before one test is killed and failed (default 600)
#
# Exits 0 when every selected test passed or is a known failure, 1 when any failed, 2 when the
# builds or the server could not be set up.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd)"
if [[ -n "${CHARTER_BIN:-}" && "$CHARTER_BIN" != /* ]]; then
    CHARTER_BIN="$PWD/$CHARTER_BIN"
fi
cd "$REPO_ROOT"

log() { printf 'peer-suites: %s\n' "$*" >&2; }

QUICK=0
SUITES="librdkafka rust-rdkafka"
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --suite) SUITES="${2:?--suite needs a name}"; shift ;;
        --only) ONLY="${2:?--only needs test ids}"; shift ;;
        -h|--help) sed -n '2,29p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) log "unknown argument $1"; exit 2 ;;
    esac
    shift
done
for s in $SUITES; do
    [[ $s == librdkafka || $s == rust-rdkafka ]] || { log "unknown suite $s"; exit 2; }
done

CACHE="${CHARTER_PEER_CACHE:-${HOME:-/tmp}/.cache/charter-peer-suites}"
mkdir -p "$CACHE"
CACHE="$(cd -- "$CACHE" && pwd)"
JOBS="${PEER_JOBS:-2}"

# ---------------------------------------------------------------- system packages
# librdkafka's configure finds these; SSL, SASL and curl are configured off (Charter's listener
# is plaintext), so zlib and zstd are all it needs beyond a C/C++ toolchain.
# Keep this list in step with .ci/run's "system packages" step.
need=()
for tool in cc c++ make pkg-config python3; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
[[ -e /usr/include/zlib.h ]] || need+=(zlib1g-dev)
[[ -e /usr/include/zstd.h ]] || need+=(libzstd-dev)
# The tests verify the statistics JSON with RapidJSON (0053, 0110); without it they skip.
[[ -e /usr/include/rapidjson/schema.h ]] || need+=(rapidjson-dev)
if [[ ${#need[@]} -gt 0 ]]; then
    pkgs=()
    for p in "${need[@]}"; do
        case "$p" in
            cc|c++|make) pkgs+=(build-essential) ;;
            pkg-config) pkgs+=(pkg-config) ;;
            python3) pkgs+=(python3) ;;
            *) pkgs+=("$p") ;;
        esac
    done
    if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
        log "installing ${pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq </dev/null
        apt-get install -y -qq "${pkgs[@]}" </dev/null
    else
        log "missing ${pkgs[*]} (install them, or run as root with apt-get)"
        exit 2
    fi
fi

# ---------------------------------------------------------------- crate sources
# The versions come from Cargo.lock, so a bump of rdkafka moves both suites with it.
lock_version() {
    awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' \
        "$REPO_ROOT/Cargo.lock"
}
RDKAFKA_VERSION="$(lock_version rdkafka)"
RDKAFKA_SYS_VERSION="$(lock_version rdkafka-sys)"
[[ -n "$RDKAFKA_VERSION" && -n "$RDKAFKA_SYS_VERSION" ]] || { log "rdkafka is not in Cargo.lock"; exit 2; }
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
crate_src() {
    local d
    for d in "$CARGO_HOME_DIR"/registry/src/*/"$1"; do
        [[ -d "$d" ]] && { echo "$d"; return 0; }
    done
    return 1
}
if ! crate_src "rdkafka-$RDKAFKA_VERSION" >/dev/null || ! crate_src "rdkafka-sys-$RDKAFKA_SYS_VERSION" >/dev/null; then
    log "fetching crate sources (cargo fetch)"
    cargo fetch --locked >/dev/null
fi
RDKAFKA_SRC="$(crate_src "rdkafka-$RDKAFKA_VERSION")" || { log "no source of rdkafka $RDKAFKA_VERSION"; exit 2; }
LIBRDKAFKA_SRC="$(crate_src "rdkafka-sys-$RDKAFKA_SYS_VERSION")/librdkafka" || { log "no source of rdkafka-sys"; exit 2; }

# ---------------------------------------------------------------- builds
# A scratch copy per version (the registry's copy stays pristine); make and cargo are incremental
# in it across runs.
LIBRDKAFKA_CONFIGURE=(--no-download --disable-ssl --disable-gssapi --disable-curl --disable-lz4-ext
    --enable-zlib --enable-zstd)
build_librdkafka() {
    local dir="$CACHE/librdkafka-$RDKAFKA_SYS_VERSION"
    # Reconfigure when the options or the headers configure looked for change.
    local want="${LIBRDKAFKA_CONFIGURE[*]} rapidjson=$([[ -e /usr/include/rapidjson/schema.h ]] && echo y)"
    if [[ ! -f "$dir/.charter-configured" ]] || [[ "$(cat "$dir/.charter-configured")" != "$want" ]]; then
        log "configuring librdkafka $RDKAFKA_SYS_VERSION in $dir"
        rm -rf "$dir"
        cp -a "$LIBRDKAFKA_SRC" "$dir"
        (cd "$dir" && ./configure "${LIBRDKAFKA_CONFIGURE[@]}" >"$dir/.configure.log" 2>&1) \
            || { tail -n 30 "$dir/.configure.log" >&2; return 1; }
        printf '%s' "$want" >"$dir/.charter-configured"
    fi
    log "building librdkafka and its test-runner (make)"
    (cd "$dir" && make -j"$(nproc)" libs >"$dir/.make.log" 2>&1 \
        && make -j"$(nproc)" -C tests build >>"$dir/.make.log" 2>&1) \
        || { tail -n 40 "$dir/.make.log" >&2; return 1; }
    LIBRDKAFKA_TESTS="$dir/tests"
    [[ -x "$LIBRDKAFKA_TESTS/test-runner" ]] || { log "no test-runner in $LIBRDKAFKA_TESTS"; return 1; }
}

build_rust_rdkafka_tests() {
    local dir="$CACHE/rdkafka-$RDKAFKA_VERSION"
    if [[ ! -f "$dir/.charter-copied" ]]; then
        rm -rf "$dir"
        cp -a "$RDKAFKA_SRC" "$dir"
        # Its own workspace root, whatever directory the cache lives in.
        printf '\n[workspace]\n' >>"$dir/Cargo.toml"
        touch "$dir/.charter-copied"
    fi
    log "building rust-rdkafka $RDKAFKA_VERSION's integration tests (cargo)"
    # The crate ships its Cargo.lock: --locked builds exactly the dev-dependencies it was
    # released with (resolved from crates.io).
    (cd "$dir" && CARGO_TARGET_DIR="$CACHE/rdkafka-target" cargo test --locked --tests --no-run \
        --message-format=json 2>"$dir/.build.log" >"$dir/.build.json") \
        || { tail -n 40 "$dir/.build.log" >&2; return 1; }
    RUST_RDKAFKA_BINS="$CACHE/rust-rdkafka-bins.txt"
    python3 - "$dir/.build.json" >"$RUST_RDKAFKA_BINS" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target") or {}
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in t.get("kind", []):
        print(t["name"], m["executable"])
EOF
    [[ -s "$RUST_RDKAFKA_BINS" ]] || { log "the rust-rdkafka build produced no test binaries"; return 1; }
}

for s in $SUITES; do
    case "$s" in
        librdkafka) build_librdkafka || { log "librdkafka build failed"; exit 2; } ;;
        rust-rdkafka) build_rust_rdkafka_tests || { log "rust-rdkafka test build failed"; exit 2; } ;;
    esac
done

# ---------------------------------------------------------------- charter binary
if [[ -n "${CHARTER_BIN:-}" ]]; then
    [[ -x "$CHARTER_BIN" ]] || { log "CHARTER_BIN=$CHARTER_BIN is not an executable file"; exit 2; }
else
    log "building charter-broker"
    cargo build -p charter-broker
    CHARTER_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/charter"
    [[ -x "$CHARTER_BIN" ]] || { log "build did not produce $CHARTER_BIN"; exit 2; }
fi

# ---------------------------------------------------------------- run
# runner.py starts and stops `charter serve` itself (one fresh server per scenario), runs the
# tests PEER_JOBS at a time and prints the report.
RESULTS="$CACHE/last-run"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
args=(--charter "$CHARTER_BIN" --results "$RESULTS" --jobs "$JOBS"
      --timeout "${PEER_TEST_TIMEOUT:-600}" --lists "$SCRIPT_DIR")
[[ $QUICK == 1 ]] && args+=(--quick)
[[ -n "$ONLY" ]] && args+=(--only "$ONLY")
for s in $SUITES; do
    case "$s" in
        librdkafka) args+=(--librdkafka-tests "$LIBRDKAFKA_TESTS") ;;
        rust-rdkafka) args+=(--rust-rdkafka-bins "$RUST_RDKAFKA_BINS") ;;
    esac
done
exec python3 "$SCRIPT_DIR/runner.py" "${args[@]}"
