#!/usr/bin/env bash
# Start-up time of `charter serve` with many partitions: creates TOPICS topics of PARTS
# partitions each (10 x 1000 = 10,000 by default; 1000 is the per-topic maximum), optionally
# fills them with MB megabytes of 1 KiB records per topic (kcat; topics then roll a segment
# every 16 KiB, so each partition holds several sealed segments), then measures restarts,
# three times each:
#   clean  - after SIGTERM
#   kill9  - after kill -9
# "ready" is the Kafka listener accepting connections (it binds after every partition opened).
# It also prints the descriptors the running server holds.
#
#   bash bench/startup.sh [topics] [partitions-per-topic] [MB-per-topic]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
topics="${1:-10}"
parts="${2:-1000}"
fill_mb="${3:-0}"
target="${CARGO_TARGET_DIR:-$repo/target}"
[ -n "${CHARTER_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p charter-broker
bin="$target/release/charter"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export CHARTER_BOOTSTRAP_SERVER=127.0.0.1:19192 CHARTER_REGISTRY_URL=http://127.0.0.1:18181

# Starts the server in the background (pid in $pid) and records the seconds until its Kafka
# listener accepts in $work/elapsed. Not run in $(...): the server must stay our child.
start() {
  local t0 t1
  t0=$(date +%s.%N)
  RUST_LOG=warn "$bin" serve --data-dir "$work/data" --kafka-listen 127.0.0.1:19192 \
    --registry-listen 127.0.0.1:18181 --auto-create-topics false >/dev/null 2>>"$work/stderr" &
  pid=$!
  until (exec 3<>/dev/tcp/127.0.0.1/19192) 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/stderr"; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc > "$work/elapsed"
}

echo "creating $topics x $parts partitions" >&2
start
for t in $(seq "$topics"); do
  if [ "$fill_mb" -gt 0 ]; then
    "$bin" topic create "bench-$t" --partitions "$parts" --config segment.bytes=16384 >/dev/null
  else
    "$bin" topic create "bench-$t" --partitions "$parts" >/dev/null
  fi
done
if [ "$fill_mb" -gt 0 ]; then
  command -v kcat >/dev/null || { echo "kcat is required to fill partitions: apt-get install kcat"; exit 1; }
  echo "filling: $fill_mb MB per topic" >&2
  python3 -c "import sys; sys.stdout.write(('x' * 1023 + '\n') * ($fill_mb * 1024))" > "$work/records"
  for t in $(seq "$topics"); do
    kcat -P -b 127.0.0.1:19192 -t "bench-$t" -X queue.buffering.max.ms=20 -X batch.size=8192 < "$work/records"
  done
  du -sh "$work/data/kafka" >&2
  echo "segment files: $(find "$work/data/kafka" -name '*.log' | wc -l)" >&2
fi
kill -TERM "$pid"; wait "$pid" || true
echo "fds held by a running server:" >&2
start
ls /proc/"$pid"/fd | wc -l >&2
for mode in clean clean clean kill9 kill9 kill9; do
  if [ "$mode" = kill9 ]; then kill -9 "$pid"; else kill -TERM "$pid"; fi
  wait "$pid" 2>/dev/null || true
  start
  printf '%s\t%s s\n' "$mode" "$(cat "$work/elapsed")"
done
