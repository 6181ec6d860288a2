#!/usr/bin/env bash
# Snapshot benchmark (not a test): a database with BOOKINGS bookings (default 1M), then the
# snapshot time (copy + compact + check + zstd), its compressed size, the verify drill and the
# restore time (the RTO without the download). Figures go to benches/RESULTS.md.
#   cargo build --release && bash benches/snapshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/barberpro}
BOOKINGS=${BOOKINGS:-1000000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cat > "$W/barberpro.toml" <<TOML
[storage]
data_dir = "$W/live"
cache_size_mb = 64
[log]
level = "warn"
[snapshot]
host = "bench"
TOML
secs() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(secs)" 'BEGIN { printf "%.1f s", b - a }'; }

echo "== generating $BOOKINGS bookings"
"$BIN" bench-data --data-dir "$W/live" --bookings "$BOOKINGS"
echo "database: $(du -h "$W/live/barberpro.redb" | cut -f1)"

echo "== snapshot (no server running: the command opens the database itself)"
t=$(secs)
"$BIN" snapshot --config "$W/barberpro.toml" --no-upload
echo "snapshot: $(took "$t")"
FILE=$(ls "$W"/live/snapshots/*.redb.zst)
echo "stored: $(du -h "$FILE" | cut -f1) ($(stat -c %s "$FILE") bytes)"

echo "== verify drill"
t=$(secs)
"$BIN" snapshot verify latest --config "$W/barberpro.toml"
echo "verify: $(took "$t")"

echo "== restore into a new folder"
t=$(secs)
"$BIN" restore "$FILE" --config "$W/barberpro.toml" --data-dir "$W/restored"
echo "restore: $(took "$t")"
