#!/usr/bin/env bash
# Issue 7's figures: a customer read by id without Redis, with the Redis cache, and while
# Redis is stopped or hung (the circuit breaker's cost); plus the cache hit ratio of a random
# read mix over $N customers. Uses a private redis-server on $REDIS_PORT.
# Usage: bench/redis.sh   (or: just bench-redis)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-500}
DB=${BENCH_DB:-crm_bench_redis}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-18580}
REDIS_PORT=${BENCH_REDIS_PORT:-18581}
COMPANY=${BENCH_COMPANY:-b0000000-0000-4000-8000-000000000007}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
BIN=${BIN:-target/release/crm-http}
export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret}
export DATABASE_URL="$PGURL/$DB" LOG_LEVEL=info LOG_FORMAT=json PORT HOST=127.0.0.1
export RATE_LIMIT_MAX=0

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x "$BIN" ] || cargo build --release -q -p crm-http

SERVER=
stop_server() {
  if [ -n "$SERVER" ]; then kill -INT "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi
}
trap 'stop_server; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true' EXIT
start_server() { # $1: REDIS_URL or empty
  if [ -n "$1" ]; then REDIS_URL=$1 $BIN >/tmp/crm-bench-redis.log 2>&1 & else env -u REDIS_URL $BIN >/tmp/crm-bench-redis.log 2>&1 & fi
  SERVER=$!
  for _ in $(seq 1 50); do curl -fs "localhost:$PORT/health/ready" >/dev/null && return; sleep 0.2; done
  echo "service did not start"; cat /tmp/crm-bench-redis.log; exit 1
}
run() { # name, wrk args...
  local name=$1; shift
  local out rps p50 p99 non2xx
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '%-44s %9s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null
REDIS_URL_BENCH="redis://127.0.0.1:$REDIS_PORT"
$BIN migrate >/dev/null
TOKEN=$($BIN token --company "$COMPANY" --role admin --ttl 3600)

start_server ""
have=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM crm.customers WHERE company_id = '$COMPANY'")
if [ "$have" -lt "$N" ]; then
  echo "creating $((N - have)) customers..."
  seq "$have" $((N - 1)) | xargs -P4 -I{} curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Bench {}","status":"active"}' "localhost:$PORT/api/customers"
fi
psql "$DATABASE_URL" -Atc "SELECT id FROM crm.customers WHERE company_id = '$COMPANY' ORDER BY id LIMIT $N" >/tmp/crm-bench-ids.txt
ONE=$(head -1 /tmp/crm-bench-ids.txt)
cat >/tmp/crm-bench-random.lua <<'LUA'
local ids = {}
for line in io.lines("/tmp/crm-bench-ids.txt") do ids[#ids + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() * 100 + seed)
end
request = function()
  return wrk.format("GET", "/api/customers/" .. ids[math.random(#ids)])
end
LUA

echo "GET /api/customers/{id}; wrk -t2 -c$CONNECTIONS -d$DURATION; service, PostgreSQL, Redis and wrk share $(nproc) cores"
run "no Redis: one customer (database every time)" "http://127.0.0.1:$PORT/api/customers/$ONE"
stop_server

start_server "$REDIS_URL_BENCH"
run "Redis cache: one customer (cached)" "http://127.0.0.1:$PORT/api/customers/$ONE"
stop_server
grep -o '"hits":[0-9]*,"misses":[0-9]*' /tmp/crm-bench-redis.log | tail -1 | sed 's/^/  counters: /'

redis-cli -p "$REDIS_PORT" flushall >/dev/null
start_server "$REDIS_URL_BENCH"
run "Redis cache: random of $N customers (cold start)" -s /tmp/crm-bench-random.lua "http://127.0.0.1:$PORT"
stop_server
line=$(grep -o '"hits":[0-9]*,"misses":[0-9]*,"bypassed":[0-9]*,"loads":[0-9]*' /tmp/crm-bench-redis.log | tail -1)
loads=$(sed -E 's/.*"loads":([0-9]+).*/\1/' <<<"$line")
hits=$(sed -E 's/.*"hits":([0-9]+).*/\1/' <<<"$line"); misses=$(sed -E 's/.*"misses":([0-9]+).*/\1/' <<<"$line")
echo "  cache: $hits hits, $misses misses ($loads database loads), hit ratio $(awk -v h="$hits" -v m="$misses" 'BEGIN {printf "%.2f %%", 100*h/(h+m)}')"

start_server "$REDIS_URL_BENCH"
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
run "Redis stopped: one customer" "http://127.0.0.1:$PORT/api/customers/$ONE"
stop_server

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null
sleep 0.3
start_server "$REDIS_URL_BENCH"
curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "localhost:$PORT/api/customers/$ONE"
# Redis accepts connections but answers nothing for longer than the run (a hung server):
# every call would wait for the 100 ms timeout without the circuit breaker.
( redis-cli -p "$REDIS_PORT" DEBUG SLEEP 12 >/dev/null 2>&1 & )
sleep 0.2
run "Redis hung (DEBUG SLEEP): one customer" "http://127.0.0.1:$PORT/api/customers/$ONE"
stop_server
echo "health while down was checked by the tests (crates/crm-http/tests/events.rs)"
