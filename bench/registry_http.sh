#!/usr/bin/env bash
# Registry HTTP benchmark: charter vs a trivial axum handler (the ceiling), same run, same
# load generator (wrk, 64 connections, loopback). Then registrations of new schemas with 16
# concurrent clients, durability on.
#
#   bash bench/registry_http.sh [duration-seconds]
#
# Needs wrk (apt-get install wrk). Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
dur="${1:-15}"
target="${CARGO_TARGET_DIR:-$repo/target}"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }

[ -n "${CHARTER_BENCH_NO_BUILD:-}" ] || { cargo build --release -q -p charter-broker && cargo build --release -q -p charter-registry --example ceiling; }
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

RUST_LOG=warn "$target/release/charter" registry --data-dir "$work/data" --listen 127.0.0.1:18081 &
pids+=($!)
"$target/release/examples/ceiling" 127.0.0.1:18082 &
pids+=($!)
for port in 18081 18082; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/schemas/ids/1" -X GET 2>/dev/null && break; curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

schema='{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}'
body=$(printf '{"schema":%s}' "$(printf '%s' "$schema" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')")
curl -sf -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$body" \
  http://127.0.0.1:18081/subjects/bench/versions >/dev/null

cat > "$work/lookup.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json"
LUA
cat > "$work/register.lua" <<'LUA'
-- `tid` is a global of each thread's Lua state, set by setup(); names never collide.
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

# rps, p50 ms, p99 ms from wrk --latency output
run() { # url conns [script]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t2 -c"$2" -d"${dur}s" --latency -s "$3" "$1")
  else
    out=$(wrk -t2 -c"$2" -d"${dur}s" --latency "$1")
  fi
  echo "$out" >&2
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  if echo "$out" | grep -q 'Non-2xx'; then echo "non-2xx responses: $(echo "$out" | grep Non-2xx)" >&2; fi
  echo "$rps $p50 $p99"
}

read -r c_get c_get50 c_get99 < <(run http://127.0.0.1:18082/schemas/ids/1 64)
read -r r_get r_get50 r_get99 < <(run http://127.0.0.1:18081/schemas/ids/1 64)
read -r c_lk c_lk50 c_lk99 < <(run http://127.0.0.1:18082/subjects/bench 64 "$work/lookup.lua")
read -r r_lk r_lk50 r_lk99 < <(run http://127.0.0.1:18081/subjects/bench 64 "$work/lookup.lua")
read -r reg reg50 reg99 < <(run http://127.0.0.1:18081 16 "$work/register.lua")

# Every request registered a distinct new schema: count what the registry now holds.
registered=$(curl -sf "http://127.0.0.1:18081/subjects?subjectPrefix=bench-R" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "registered subjects after the registration run: $registered" >&2

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "| scenario | charter req/s | p50 / p99 | ceiling req/s | p50 / p99 | ratio |"
echo "|---|---|---|---|---|---|"
echo "| GET /schemas/ids/{id}, 64 conns | $r_get | $r_get50 / $r_get99 | $c_get | $c_get50 / $c_get99 | $(ratio "$r_get" "$c_get")× |"
echo "| POST /subjects/{s} lookup, 64 conns | $r_lk | $r_lk50 / $r_lk99 | $c_lk | $c_lk50 / $c_lk99 | $(ratio "$r_lk" "$c_lk")× |"
echo "| POST /subjects/{s}/versions new schemas, 16 conns (fsync'd; $registered new subjects) | $reg | $reg50 / $reg99 | – | – | – |"
