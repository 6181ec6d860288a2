#!/usr/bin/env bash
# The RTO of continuous backup (issue 30): the load benchmark's chain (1,000,000 bookings) is
# served with a local S3 server (moto) as its bucket, age on, so its first snapshot starts a
# generation; then CHANGE_DAYS working days of the benchmark's free slots are booked over
# HTTPS, one write transaction each (default 32: ~72,000 bookings, an hour at 20 bookings/s;
# closures and days off leave ~2,260 free slots a day) and shipped as the change log. The
# server stops (shipping what is left), and `barberpro restore latest` rebuilds an empty folder
# from the bucket alone: its wall time is the RTO (list, download, decrypt, decompress, check,
# replay); a local snapshot of the result counts its bookings; then the restored server's
# start-up to ready.
#
#   bash benches/rto.sh        # BIN (default target/release/barberpro), WORK, PORT, CHANGE_DAYS
# Needs: moto + awscli in $MOTO_VENV (.ci/run installs them), wrk, age, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/target/release/barberpro}
WORK=${WORK:-/tmp/barberpro-rto}
PORT=${PORT:-18643}
S3_PORT=${S3_PORT:-18645}
METRICS_PORT=${METRICS_PORT:-18644}
# One connection: at an hour's real pace every booking is its own write transaction (more
# connections batch several into one group commit, fewer and larger transactions to replay).
CONNS=${CONNS:-1}
DURATION=${DURATION:-150}
CHANGE_DAYS=${CHANGE_DAYS:-32}
export LUA_PATH="$ROOT/benches/?.lua;;"
MOTO_VENV=${MOTO_VENV:-/opt/barberpro-moto}
PRISTINE=${PRISTINE:-/tmp/barberpro-bench/pristine}
rm -rf "$WORK/live" "$WORK/restored" "$WORK/moto"
mkdir -p "$WORK/moto"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
secs() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(secs)" 'BEGIN { printf "%.1f", b - a }'; }

echo "== local S3 (moto) on 127.0.0.1:$S3_PORT"
(cd "$WORK/moto" && exec "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT") >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break; sleep 0.2; done
"$MOTO_VENV/bin/aws" --endpoint-url "http://127.0.0.1:$S3_PORT" s3 mb s3://rto >/dev/null

echo "== data: the benchmark's 1,000,000-booking chain"
if [ ! -f "$PRISTINE/barberpro.redb" ]; then
  "$BIN" bench-data --data-dir "$PRISTINE"
fi
mkdir -p "$WORK/live"
cp "$PRISTINE/barberpro.redb" "$WORK/live/"
sync "$WORK/live/barberpro.redb"
rm -f "$WORK/age-key.txt"
age-keygen -o "$WORK/age-key.txt" 2>/dev/null
RECIPIENT=$(age-keygen -y "$WORK/age-key.txt")
cat >"$WORK/barberpro.toml" <<TOML
[storage]
data_dir = "$WORK/live"
[log]
level = "info"
[booking]
horizon_days = 366
[rate_limit]
enabled = false
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[snapshot]
host = "rto"
age_recipient = "$RECIPIENT"
age_identity_file = "$WORK/age-key.txt"
replicate_interval_secs = 10
[snapshot.s3]
bucket = "rto"
endpoint = "http://127.0.0.1:$S3_PORT"
allow_http = true
prefix = "chain"
access_key_id = "$AWS_ACCESS_KEY_ID"
secret_access_key = "$AWS_SECRET_ACCESS_KEY"
TOML

echo "== serve: the first snapshot starts a generation"
"$BIN" serve --config "$WORK/barberpro.toml" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
CURL=(curl -sk --max-time 5)
for _ in $(seq 600); do "${CURL[@]}" -o /dev/null "https://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done
t=$(secs)
until grep -q "first generation started" "$WORK/server.log"; do
  grep -q "snapshot that starts a generation failed" "$WORK/server.log" && { tail "$WORK/server.log"; exit 1; }
  sleep 1
done
echo "first snapshot: $(took "$t") s after ready"

echo "== the changes: $CHANGE_DAYS days of free slots booked at $CONNS connection(s)"
# wrk runs for its whole duration; the script stops booking once its days are full.
t=$(secs)
BENCH_DAY0=50 BENCH_DAYS=$CHANGE_DAYS wrk -t1 -c"$CONNS" -d"$DURATION"s --timeout 10s -s benches/create.lua \
  "https://127.0.0.1:$PORT" -- 1 | tee "$WORK/wrk.txt" | tail -n 3
echo "booking: $(took "$t") s"
metric() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m {print $2 + 0}'; }
for _ in $(seq 120); do
  [ "$(metric barberpro_replication_lag_seconds)" = "0" ] && [ "$(metric barberpro_replication_waiting_bytes)" = "0" ] && break
  sleep 1
done
NEWEST=$(metric barberpro_replication_last_replicated_timestamp_seconds)
echo "shipped: $(metric barberpro_replication_shipped_bytes) bytes in $(metric barberpro_replication_shipped_objects) segments; lag $(metric barberpro_replication_lag_seconds) s"
grep -o '"requests":[0-9]*' "$WORK/wrk.txt"
kill -TERM "$SERVER"
wait "$SERVER" || true
"$MOTO_VENV/bin/aws" --endpoint-url "http://127.0.0.1:$S3_PORT" s3 ls --recursive s3://rto/chain/ \
  | awk '{n++; b+=$3} END {printf "bucket: %d objects, %.1f MB\n", n, b/1e6}'

echo "== restore latest into an empty folder, from the bucket alone (the RTO)"
t=$(secs)
"$BIN" restore latest --config "$WORK/barberpro.toml" --data-dir "$WORK/restored" | tee "$WORK/restore.txt"
echo "RTO (restore latest): $(took "$t") s; newest shipped transaction: $(date -ud "@$NEWEST" +%T.%3NZ)"
"$BIN" snapshot --config "$WORK/barberpro.toml" --data-dir "$WORK/restored" --no-upload | tail -n 1
coproc READY { python3 benches/ready.py "$PORT"; }
read -r _ <&"${READY[0]}"
echo "$(date +%s%N)" >&"${READY[1]}"
"$BIN" serve --config "$WORK/barberpro.toml" --data-dir "$WORK/restored" --listen "127.0.0.1:$PORT" \
  >"$WORK/restored.log" 2>&1 &
PIDS+=($!)
read -r ms <&"${READY[0]}" || true
echo "restored server ready in ${ms:-?} ms"
