#!/usr/bin/env bash
# `just bench`: the service against PostgreSQL's own speed on the same machine.
#
# 1. builds the release binary; installs wrk (Debian) when missing;
# 2. seeds `crm_bench` once (data-set version in bench.dataset): a company of 1,000,000
#    customers ("big") and 1,000,000 customers over 100 companies with 2,000,000 notes and
#    5,000,000 interactions ("spread");
# 3. starts the service and measures each scenario with wrk (requests/s, p50, p99), then the
#    same SQL transaction the service runs for it with pgbench (bench/sql/*.sql), and prints
#    the ratio; also the service's idle and peak memory.
# The cached read runs on a second instance with REDIS_URL (BENCH_REDIS_URL, default the
# local Redis), on BENCH_PORT + 1.
# Knobs: BENCH_BIN (a binary to measure instead of building one), DURATION (default 12s), CONNECTIONS (8), BENCH_PORT (5099), PGURL, BENCH_DB, ONLY
# (a regex of scenario names to run).
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${BENCH_DB:-crm_bench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-5099}
DURATION=${DURATION:-12s}
CONNECTIONS=${CONNECTIONS:-8}
ONLY=${ONLY:-.}
DATASET_VERSION=2
export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret}
export DATABASE_URL="$PGURL/$DB" LOG_LEVEL=warn PORT HOST=127.0.0.1
# Every request of the load tool comes from one address: the per-IP rate limit would answer
# most of them with 429. The limiter's own cost is not what this measures.
export RATE_LIMIT_MAX=0
CACHED_PORT=$((PORT + 1))
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
WARM_IDS=10000
PSQL=(psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1)
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -n "${BENCH_BIN:-}" ]; then BIN=$BENCH_BIN; else
  cargo build --release -q -p crm-http
  BIN=target/release/crm-http
fi
$BIN migrate >/dev/null

# --- the data set, seeded once ------------------------------------------------------------
"${PSQL[@]}" -c "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS bench;
  CREATE TABLE IF NOT EXISTS bench.dataset (version int PRIMARY KEY, big uuid NOT NULL,
    spread uuid[] NOT NULL, big_prefix text NOT NULL, spread_prefix text NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now())"
if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM bench.dataset WHERE version = $DATASET_VERSION")" ]; then
  echo "seeding the benchmark data set (version $DATASET_VERSION) into $DB..."
  big=$($BIN seed --companies 1 --customers 1000000)
  spread=$($BIN seed --companies 100 --customers 1000000 --notes 2000000 --interactions 5000000 | paste -sd, -)
  # Seeded ids are <prefix><index as 12 hex digits>; index 0 is the first of each set (and,
  # right after seeding, the smallest id of its company).
  prefix() { "${PSQL[@]}" -c "SELECT left(min(id::text), 24) FROM crm.customers WHERE company_id = '$1'"; }
  "${PSQL[@]}" -c "INSERT INTO bench.dataset (version, big, spread, big_prefix, spread_prefix)
    VALUES ($DATASET_VERSION, '$big', '{$spread}', '$(prefix "$big")', '$(prefix "${spread%%,*}")')"
fi
BIG=$("${PSQL[@]}" -c "SELECT big FROM bench.dataset WHERE version = $DATASET_VERSION")
SMALL=$("${PSQL[@]}" -c "SELECT spread[1] FROM bench.dataset WHERE version = $DATASET_VERSION")
BIG_PREFIX=$("${PSQL[@]}" -c "SELECT big_prefix FROM bench.dataset WHERE version = $DATASET_VERSION")
SMALL_PREFIX=$("${PSQL[@]}" -c "SELECT spread_prefix FROM bench.dataset WHERE version = $DATASET_VERSION")
BIG_N=$("${PSQL[@]}" -c "SELECT count FROM crm.stat_counters WHERE company_id = '$BIG' AND metric = 'customers'")
# A customer of the spread set with a typical history (~30 notes, ~80 interactions).
CUSTOMER="${SMALL_PREFIX}$(printf '%012x' 1000)"

# --- the service --------------------------------------------------------------------------
# Two instances on the same database: without Redis (every read hits PostgreSQL) and, for the
# cached read, with the Redis cache (REDIS_URL).
env -u REDIS_URL $BIN > /tmp/crm-bench.log 2>&1 &
SERVER=$!
CACHED_SERVER=
trap 'kill $SERVER $CACHED_SERVER 2>/dev/null || true' EXIT
if redis-cli -u "$REDIS" ping >/dev/null 2>&1; then
  PORT=$CACHED_PORT REDIS_URL=$REDIS $BIN > /tmp/crm-bench-cached.log 2>&1 &
  CACHED_SERVER=$!
fi
for _ in $(seq 1 100); do curl -fs "localhost:$PORT/health/ready" >/dev/null && break; sleep 0.1; done
rss() { awk -v k="$1" '$1 == k":" {printf "%.1f MiB", $2 / 1024}' "/proc/${2:-$SERVER}/status"; }
IDLE_START=$(rss VmRSS)
BIG_TOKEN=$($BIN token --company "$BIG" --role admin --ttl 7200)
SMALL_TOKEN=$($BIN token --company "$SMALL" --role admin --ttl 7200)

# The history of $CUSTOMER: activities are written by the service, so make some through it.
if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM crm.activities WHERE customer_id = '$CUSTOMER'")" -lt 40 ]; then
  for i in $(seq 1 40); do
    curl -fs -o /dev/null -H "Authorization: Bearer $SMALL_TOKEN" -H 'Content-Type: application/json' \
      -d "{\"content\":\"Bench note $i\",\"type\":\"call\"}" "localhost:$PORT/api/customers/$CUSTOMER/notes"
  done
fi

# A cursor 10,000 pages (200,000 rows) down the default order (-createdAt), built like the
# service builds one.
read -r T ID < <("${PSQL[@]}" -F ' ' -c "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id
  FROM crm.customers WHERE company_id = '$BIG' ORDER BY created_at DESC, id DESC OFFSET 200000 LIMIT 1")
DEEP=$(printf '{"s":"-createdAt","k":{"t":"%s"},"i":"%s"}' "$T" "$ID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
# A selective search: the full name of one customer (about 400 namesakes in the company).
SEARCH_NAME=$("${PSQL[@]}" -c "SELECT name FROM crm.customers WHERE id = '${BIG_PREFIX}$(printf '%012x' 123456)'")
# The most common surname of the company (about 2% of its customers).
SEARCH_SURNAME=$("${PSQL[@]}" -c "SELECT lower(split_part(name, ' ', 2)) FROM (SELECT name FROM crm.customers WHERE company_id = '$BIG' LIMIT 20000) s
  GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
SEARCH_EMAIL=$("${PSQL[@]}" -c "SELECT split_part(email, '@', 1) FROM crm.customers WHERE id = '${BIG_PREFIX}$(printf '%012x' 654321)'")
urlenc() { jq -rn --arg s "$1" '$s|@uri' 2>/dev/null || python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$1"; }

# --- measuring ----------------------------------------------------------------------------
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$1"; }

# pgbench: the same transaction, as many clients, for as long. Prints "tps p50 p99" (ms).
pg() {
  local file=$1; shift
  local dir; dir=$(mktemp -d)
  local mode=prepared; [[ $file == search* ]] && mode=extended
  (cd "$dir" && "$PGBENCH" -n -M "$mode" -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" -l \
    -D company="$1" -D prefix="${2:-none}" -D count="${ROW_COUNT:-$BIG_N}" -D customer="$CUSTOMER" -D deep_t="$T" -D deep_id="$ID" \
    -D search="${3:-none}" -D search_prefix="${3:-none}%" -D search_like="%${3:-none}%" -f "$OLDPWD/bench/sql/$file.sql" "$DATABASE_URL" > out.txt 2>&1) || { cat "$dir/out.txt" >&2; echo "- - -"; return; }
  local tps; tps=$(awk '/^tps/ {print $3; exit}' "$dir/out.txt")
  cat "$dir"/pgbench_log.* | awk '{print $3}' | sort -n | awk -v tps="$tps" '{ a[NR] = $1 } END {
    printf "%.0f %.2f %.2f\n", tps, a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000 }'
  rm -rf "$dir"
}

printf '\n%-34s %9s %8s %8s | %9s %8s %8s | %6s\n' scenario req/s p50ms p99ms pg-tps p50ms p99ms ratio
row() { # name token path [wrk script] -- pgbench file company prefix search
  local name=$1 token=$2 path=$3 script=$4 file=$5 company=$6 prefix=$7 search=${8:-}
  [[ $name =~ $ONLY ]] || return 0
  local out
  out=$(PREFIX=$prefix COUNT=${ROW_COUNT:-$BIG_N} wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency \
    ${script:+-s bench/wrk/$script.lua} -H "Authorization: Bearer $token" "http://127.0.0.1:${ROW_PORT:-$PORT}$path")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  local tps pp50 pp99 ratio=-
  if [ -n "$file" ]; then
    read -r tps pp50 pp99 < <(pg "$file" "$company" "$prefix" "$search")
    [ "$tps" != "-" ] && ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN {printf "%.0f%%", 100 * a / b}')
  fi
  printf '%-34s %9s %8s %8s | %9s %8s %8s | %6s %s\n' "$name" "$rps" "$p50" "$p99" \
    "${tps:--}" "${pp50:--}" "${pp99:--}" "$ratio" "${bad:+non-2xx: $bad}"
}

echo "wrk/pgbench: $CONNECTIONS connections, $DURATION each; service, PostgreSQL and load tool share $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
row "get by id, uncached (random id)" "$BIG_TOKEN" /api/customers/x random_customer get_customer "$BIG" "$BIG_PREFIX"
if [[ ! "get by id, cached" =~ $ONLY ]]; then :
elif [ -n "$CACHED_SERVER" ]; then
  for _ in $(seq 1 100); do curl -fs "localhost:$CACHED_PORT/health/ready" >/dev/null && break; sleep 0.1; done
  # Warm the cache with the first $WARM_IDS customers, then read them at random; pgbench
  # reads the same ids (all in PostgreSQL's buffer cache too).
  PREFIX=$BIG_PREFIX COUNT=$WARM_IDS wrk -t2 -c"$CONNECTIONS" -d5s -s bench/wrk/random_customer.lua \
    -H "Authorization: Bearer $BIG_TOKEN" "http://127.0.0.1:$CACHED_PORT/" >/dev/null
  ROW_PORT=$CACHED_PORT ROW_COUNT=$WARM_IDS row "get by id, cached (10k warm ids)" "$BIG_TOKEN" /api/customers/x random_customer get_customer "$BIG" "$BIG_PREFIX"
  ROW_COUNT=$WARM_IDS row "get by id, uncached (same 10k ids)" "$BIG_TOKEN" /api/customers/x random_customer get_customer "$BIG" "$BIG_PREFIX"
else
  echo "get by id, cached: skipped (no Redis at $REDIS)"
fi
row "list page 1 (limit 20)" "$BIG_TOKEN" "/api/customers?limit=20" "" list_page "$BIG" ""
row "list page 10,000 (keyset)" "$BIG_TOKEN" "/api/customers?limit=20&cursor=$DEEP" "" list_deep "$BIG" ""
row "search: full name" "$BIG_TOKEN" "/api/customers/search?q=$(urlenc "$SEARCH_NAME")" "" search_name "$BIG" "" "$(tr '[:upper:]' '[:lower:]' <<<"$SEARCH_NAME")"
row "search: email fragment" "$BIG_TOKEN" "/api/customers/search?q=$(urlenc "$SEARCH_EMAIL")" "" search_text "$BIG" "" "$SEARCH_EMAIL"
row "search: a common surname" "$BIG_TOKEN" "/api/customers/search?q=$SEARCH_SURNAME" "" search_common "$BIG" "" "$SEARCH_SURNAME"
row "notes of a customer" "$SMALL_TOKEN" "/api/customers/$CUSTOMER/notes?limit=20" "" notes "$SMALL" ""
row "interactions of a customer" "$SMALL_TOKEN" "/api/customers/$CUSTOMER/interactions?limit=20" "" interactions "$SMALL" ""
row "history of a customer" "$SMALL_TOKEN" "/api/customers/$CUSTOMER/history?limit=20" "" history "$SMALL" ""
row "stats" "$SMALL_TOKEN" /api/stats "" stats "$SMALL" ""
row "dashboard" "$SMALL_TOKEN" /api/stats/dashboard "" dashboard "$SMALL" ""
row "create a customer" "$SMALL_TOKEN" /api/customers create_customer create "$SMALL" ""
sleep 2
echo
echo "service memory: idle at start $IDLE_START, idle after the load $(rss VmRSS), peak $(rss VmHWM)"
if [ -n "$CACHED_SERVER" ]; then
  echo "cached instance memory: now $(rss VmRSS "$CACHED_SERVER"), peak $(rss VmHWM "$CACHED_SERVER")"
  # The cache's own counters (warm-up included), and the hit ratio.
  # The near cache's lookups include the revocation entries of each request's token.
  curl -fs "localhost:$CACHED_PORT/metrics" | awk '/^crm_cache_lookups_total/ {
      print; c = ($0 ~ /cache="near"/) ? "near" : "redis"; n[c] += $2; if ($0 ~ /result="hit"/) h[c] = $2 }
    END { for (c in n) if (n[c]) printf "%s cache hit ratio: %.1f%%\n", c, 100 * h[c] / n[c] }' || true
fi
