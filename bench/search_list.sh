#!/usr/bin/env bash
# Issue 4's speed targets on one company of $N customers (default 1,000,000):
# a list page, a deep keyset page and a search, each measured with wrk (p50/p99).
# Usage: bench/search_list.sh   (or: just bench)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
DB=${BENCH_DB:-crm_bench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-5099}
COMPANY=${BENCH_COMPANY:-b0000000-0000-4000-8000-000000000001}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-8}
export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret}
export DATABASE_URL="$PGURL/$DB" LOG_LEVEL=warn PORT HOST=127.0.0.1

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p crm-http
BIN=target/release/crm-http

$BIN migrate >/dev/null
have=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM crm.customers WHERE company_id = '$COMPANY'")
if [ "$have" -lt "$N" ]; then
  echo "seeding $N customers (have $have)..."
  psql "$DATABASE_URL" -q -c "DELETE FROM crm.customers WHERE company_id = '$COMPANY'"
  time psql "$DATABASE_URL" -q -v company="$COMPANY" -v n="$N" -f bench/seed_customers.sql
fi

$BIN > /tmp/crm-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "localhost:$PORT/health/ready" >/dev/null && break; sleep 0.2; done
TOKEN=$($BIN token --company "$COMPANY" --role admin --ttl 3600)

# A cursor half-way down the default order (-createdAt), built like the service builds one.
read -r T ID < <(psql "$DATABASE_URL" -At -F ' ' -c "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id
  FROM crm.customers WHERE company_id = '$COMPANY' ORDER BY created_at DESC, id DESC OFFSET $((N / 2)) LIMIT 1")
DEEP=$(printf '{"s":"-createdAt","k":{"t":"%s"},"i":"%s"}' "$T" "$ID" | base64 -w0 | tr '+/' '-_' | tr -d '=')

run() {
  local name=$1 path=$2
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '%-28s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
}

echo "company of $N customers; wrk -t2 -c$CONNECTIONS -d$DURATION; service, PostgreSQL and wrk share $(nproc) cores"
run "list page (limit 20)" "/api/customers?limit=20"
run "deep keyset page (N/2)" "/api/customers?limit=20&cursor=$DEEP"
run "filtered list" "/api/customers?limit=20&status=active&tags=vip"
# Seeded names are "<first> <last> <i>"; i = 123200 is "Ada Lovelace 123200",
# ada.lovelace123200@example.com, +1 663 5620800.
run "search: name fragment" "/api/customers/search?q=lovelace%20123200"
run "search: email fragment" "/api/customers/search?q=lovelace123200%40"
run "search: phone fragment" "/api/customers/search?q=5620800"
run "search: typo in a name" "/api/customers/search?q=lovelase%20123200"
run "search: common word (50k hits)" "/api/customers/search?q=lovelace"
echo "peak RSS of the service: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVER/status)"
