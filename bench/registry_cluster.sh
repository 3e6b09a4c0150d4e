#!/usr/bin/env bash
# The registry through the cluster controller, side by side in one run (wrk, loopback):
#   1. registrations of new schemas, 16 connections: `charter registry` (its own journal)
#      vs `charter serve` (one node: the controller's Raft log);
#   2. the same through a node that does not lead a 3-node cluster (forwarded to the leader,
#      committed on a majority, answered once the node applied it);
#   3. `GET /schemas/ids/{id}` on every node of the cluster vs the trivial axum ceiling.
#
#   bash bench/registry_cluster.sh [duration-seconds]
#
# Needs wrk (apt-get install wrk). Prints lines for BENCHMARKS.md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
dur="${1:-10}"
target="${CARGO_TARGET_DIR:-$repo/target}"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }
[ -n "${CHARTER_BENCH_NO_BUILD:-}" ] || { cargo build --release -q -p charter-broker && cargo build --release -q -p charter-registry --example ceiling; }
bin="$target/release/charter"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

ready() { for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "port $1 not ready"; exit 1; }

cat > "$work/register.lua" <<'LUA'
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  local name = "R" .. (tid or 0) .. "_" .. counter
  local body = '{"schema":"{\\"type\\":\\"record\\",\\"name\\":\\"' .. name ..
    '\\",\\"fields\\":[{\\"name\\":\\"f\\",\\"type\\":\\"int\\"}]}"}'
  return wrk.format("POST", "/subjects/bench-" .. name .. "/versions",
    {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("non2xx=%d\n", summary.errors.status))
end
LUA

# Runs wrk and prints "req/s p50 p99 non2xx".
load() {
  local url="$1" conns="$2" script="${3:-}"
  local args=(-t2 -c"$conns" -d"${dur}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" > "$work/wrk.out"
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.out")
  bad=$(awk -F= '/non2xx/ {print $2}' "$work/wrk.out")
  echo "$rps $p50 $p99 ${bad:-0}"
}

echo "## registrations, 16 connections, ${dur} s"
RUST_LOG=warn "$bin" registry --data-dir "$work/standalone" --listen 127.0.0.1:18181 & pids+=($!)
ready 18181
printf 'charter registry (journal)  %s\n' "$(load http://127.0.0.1:18181 16 "$work/register.lua")"
RUST_LOG=warn "$bin" serve --data-dir "$work/one" --registry-listen 127.0.0.1:18182 \
  --kafka-listen 127.0.0.1:19192 & pids+=($!)
ready 18182
printf 'charter serve, one node    %s\n' "$(load http://127.0.0.1:18182 16 "$work/register.lua")"

V=""
for n in 1 2 3; do V="$V${V:+,}$n@127.0.0.1:1909$((n + 2))"; done
for n in 1 2 3; do
  RUST_LOG=warn "$bin" serve --node-id $n --voters "$V" --data-dir "$work/n$n" \
    --registry-listen 127.0.0.1:1828$n --kafka-listen 127.0.0.1:1929$n & pids+=($!)
done
for n in 1 2 3; do ready 1828$n; done
leader=$(curl -sf http://127.0.0.1:19093/controller/quorum | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])')
follower=$(( leader % 3 + 1 ))
printf 'cluster, via non-leader %s  %s\n' "$follower" "$(load "http://127.0.0.1:1828$follower" 16 "$work/register.lua")"
printf 'cluster, via leader %s      %s\n' "$leader" "$(load "http://127.0.0.1:1828$leader" 16 "$work/register.lua")"

echo "## GET /schemas/ids/1, 64 connections, ${dur} s"
"$target/release/examples/ceiling" 127.0.0.1:18189 & pids+=($!)
sleep 0.5
printf 'ceiling                    %s\n' "$(load http://127.0.0.1:18189/schemas/ids/1 64)"
for n in 1 2 3; do
  printf 'cluster node %s             %s\n' "$n" "$(load "http://127.0.0.1:1828$n/schemas/ids/1" 64)"
done
