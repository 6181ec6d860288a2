#!/usr/bin/env bash
# The owner's reports over a year of history (issue 31): the load benchmark's chain (1,000,000
# bookings, a checkout for every completed one), served over HTTPS on loopback; an owner logs
# in with curl and fetches the revenue report page for the last 365 days and each of its CSV
# tables, then the booking reports' pages (occupancy, attendance, clients) and their tables,
# RUNS times each (after one warm-up); prints the median and the slowest, in ms.
#
#   bash benches/reports.sh        # BIN (default target/release/barberpro), WORK, RUNS, PORT
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/barberpro}
WORK=${WORK:-target/reports-bench}
RUNS=${RUNS:-20}
PORT=${PORT:-18443}
mkdir -p "$WORK"
rm -f "$WORK/cookies"
if [ ! -f "$WORK/data/barberpro.redb" ]; then
  "$BIN" bench-data --data-dir "$WORK/data" | tee "$WORK/generate.txt"
fi
PASS=$("$BIN" admin create-user --data-dir "$WORK/data" --role owner \
  --email "owner-$RANDOM@bench.test" --generate-password 2>&1 | tee "$WORK/user.txt" | awk '/[Pp]assword/ {print $NF}' | tail -1)
EMAIL=$(grep -o 'owner-[0-9]*@bench.test' "$WORK/user.txt" | head -1)
BARBERPRO_RATE_LIMIT__ENABLED=false "$BIN" serve --data-dir "$WORK/data" \
  --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
BASE="https://localhost:$PORT"
CURL=(curl -sS --cacert "$WORK/data/tls/ca.pem" -b "$WORK/cookies" -c "$WORK/cookies")
for _ in $(seq 600); do "${CURL[@]}" -o /dev/null "$BASE/healthz" 2>/dev/null && break; sleep 0.2; done
CSRF=$("${CURL[@]}" "$BASE/admin/login" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
"${CURL[@]}" -o /dev/null --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASS" \
  --data-urlencode "csrf=$CSRF" "$BASE/admin/login"
TO=$(date +%F)
FROM=$(date -d "$TO - 364 days" +%F)
Q="desde=$FROM&hasta=$TO"
measure() { # path → "median max" in ms
  local path=$1 times=()
  "${CURL[@]}" -o "$WORK/last.out" -w '%{http_code}' "$BASE$path" | grep -q 200 \
    || { echo "GET $path failed: $(head -c 300 "$WORK/last.out")" >&2; exit 1; }
  for _ in $(seq "$RUNS"); do
    times+=("$("${CURL[@]}" -o /dev/null -w '%{time_total}' "$BASE$path")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "%.1f %.1f\n", a[int((NR+1)/2)], a[NR]}'
}
echo "reports over $FROM..$TO ($RUNS runs each): median ms, slowest ms"
echo "page $(measure "/admin/reportes?$Q")"
for t in dia sucursal barbero servicio metodo producto; do
  echo "$t.csv $(measure "/admin/reportes/$t.csv?$Q")"
done
# The booking reports (occupancy, attendance, new vs returning) read the year's bookings.
for r in "ocupacion:barbero" "asistencia:dia sucursal barbero" "clientes:dia barbero"; do
  echo "turnos/${r%%:*} $(measure "/admin/reportes/${r%%:*}?$Q")"
  for t in ${r#*:}; do
    echo "turnos/${r%%:*}/$t.csv $(measure "/admin/reportes/${r%%:*}/$t.csv?$Q")"
  done
done
grep -o 'Cobros</dt><dd id="report-tickets">[0-9]*' "$WORK/last.out" || true
"${CURL[@]}" "$BASE/admin/reportes?$Q" | grep -o 'id="report-tickets">[0-9]*' || true
