#!/usr/bin/env bash
# A/B of booking creation between two release builds: both serve a copy of the same generated
# chain at once, and wrk drives them in turn (16 connections, BENCH_DURATION s each, the order
# swapped every round), so each ratio compares neighbours in time on this drifting VM.
#
#   benches/ab.sh A_BINARY B_BINARY      # prints each round's req/s and B / A
#
# The data comes from A's `bench-data` (B must be able to open or migrate it). Environment:
# BENCH_WORK (default /tmp/barberpro-ab), BENCH_DURATION (default 10), BENCH_ROUNDS (default
# 6), A_ENV / B_ENV (VAR=value settings for one side only, e.g. a configuration key's
# BARBERPRO_… variable), A_WAIT / B_WAIT (a text to wait for in that side's log before the
# rounds start, e.g. "first generation started" when a side ships to a bucket). Needs wrk and
# python3; only 127.0.0.1 is used.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 A_BINARY B_BINARY" >&2; exit 2; }
A=$(realpath "$1")
B=$(realpath "$2")
BENCH=$(cd "$(dirname "$0")" && pwd)
WORK=${BENCH_WORK:-/tmp/barberpro-ab}
DUR=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-6}
export LUA_PATH="$BENCH/?.lua;;"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)"

if [ ! -f "$WORK/pristine/barberpro.redb" ] || [ -n "$(find "$WORK/pristine/barberpro.redb" -mmin +720)" ]; then
  rm -rf "$WORK/pristine"
  "$A" bench-data --data-dir "$WORK/pristine"
fi

PIDS=()
finish() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap finish EXIT

serve() { # name binary port metrics-port extra-env wait-for
  rm -rf "${WORK:?}/$1" && mkdir -p "$WORK/$1"
  cp "$WORK/pristine/barberpro.redb" "$WORK/$1/"
  sync "$WORK/$1/barberpro.redb"
  BARBERPRO_BOOKING__HORIZON_DAYS=366 BARBERPRO_RATE_LIMIT__ENABLED=false \
    BARBERPRO_METRICS__LISTEN="127.0.0.1:$4" \
    env $5 "$2" serve --data-dir "$WORK/$1" --listen "127.0.0.1:$3" >"/dev/shm/barberpro-ab-$1.log" 2>&1 &
  PIDS+=($!)
  until curl -sfk "https://127.0.0.1:$3/readyz" >/dev/null; do sleep 0.2; done
  [ -z "$6" ] || until grep -q "$6" "/dev/shm/barberpro-ab-$1.log"; do sleep 1; done
}
serve a "$A" 18601 19601 "${A_ENV:-}" "${A_WAIT:-}"
serve b "$B" 18602 19602 "${B_ENV:-}" "${B_WAIT:-}"

run() { # port day0 → req/s
  BENCH_DAY0=$2 BENCH_DAYS=50 wrk -t2 -c16 -d"${DUR}s" --timeout 10s -s "$BENCH/create.lua" \
    "https://127.0.0.1:$1" -- 2 | tail -n 1 |
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["errors"]==0 and not d["days_full"], d; print(d["rps"])'
}

echo "round  A req/s  B req/s  B/A"
RATIOS=()
for r in $(seq "$ROUNDS"); do
  day0=$((50 + (r - 1) * 50))
  if [ $((r % 2)) -eq 1 ]; then
    ra=$(run 18601 "$day0"); rb=$(run 18602 "$day0")
  else
    rb=$(run 18602 "$day0"); ra=$(run 18601 "$day0")
  fi
  ratio=$(python3 -c "print(f'{$rb / $ra:.3f}')")
  RATIOS+=("$ratio")
  echo "$r      $ra   $rb   $ratio"
done
python3 -c "import statistics,sys; print('median B/A', f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "${RATIOS[@]}"
