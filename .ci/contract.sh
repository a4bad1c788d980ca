#!/usr/bin/env bash
# Contract fuzzing: runs schemathesis (pinned in .ci/requirements.txt) against the real service
# and its own /api/openapi.json, with every phase (examples, coverage, fuzzing, stateful) and
# every check, authenticated as an admin. Any finding fails the run.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and python3.11; uses Redis on
# 127.0.0.1:6379 when it answers. Creates a throwaway database and drops it on exit.
#
# Tunables (environment): CONTRACT_MAX_EXAMPLES (default 50), CONTRACT_SEED (default 1),
# CONTRACT_PORT (default: a free port), CONTRACT_WORKERS (default 2),
# CRM_CI_CACHE (default ~/.cache/crm-ci: where the virtualenv lives).
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=${CONTRACT_MAX_EXAMPLES:-50}
seed=${CONTRACT_SEED:-1}
workers=${CONTRACT_WORKERS:-2}
cache=${CRM_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crm-ci}
report_dir=${CONTRACT_REPORT_DIR:-target/contract}

# --- schemathesis in a virtualenv keyed by the requirements file ---------------------------
python=$(command -v python3.11 || command -v python3)
req_hash=$(sha256sum .ci/requirements.txt | cut -c1-12)
venv="$cache/venv-$req_hash"
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "installing schemathesis into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/requirements.txt
fi
"$venv/bin/schemathesis" --version

# --- the service ---------------------------------------------------------------------------
cargo build -p crm-http
bin=target/debug/crm-http

port=${CONTRACT_PORT:-$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
db="crm_contract_$(tr -d '-' </proc/sys/kernel/random/uuid)"
company=$(cat /proc/sys/kernel/random/uuid)
export JWT_SECRET
JWT_SECRET="contract-$(tr -d '-' </proc/sys/kernel/random/uuid)"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export HOST=127.0.0.1 PORT=$port LOG_LEVEL=${CONTRACT_LOG_LEVEL:-warn} LOG_FORMAT=json
unset JWT_ISSUER JWT_AUDIENCE
# Thousands of requests from one address: the rate limit (its 429 is documented on every /api
# operation and tested in tests/rate_limit.rs) would otherwise answer most of them.
export RATE_LIMIT_MAX=0
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  export REDIS_URL=redis://127.0.0.1:6379
else
  unset REDIS_URL
fi

mkdir -p "$report_dir"
log="$report_dir/service.log"
server_pid=
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  psql -q -h 127.0.0.1 -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT INT TERM

"$bin" serve >"$log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  if curl -fsS "$base/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the service exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS "$base/health/ready" >/dev/null
token=$("$bin" token --company "$company" --role admin --ttl 7200)

export SCHEMATHESIS_HOOKS=.ci/contract_hooks.py

# --- the run -------------------------------------------------------------------------------
started=$(date +%s)
set +e
"$venv/bin/schemathesis" --no-color --config-file .ci/schemathesis.toml run "$base/api/openapi.json" \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --workers "$workers" \
  --continue-on-failure \
  --generation-database none \
  --generation-allow-x00 false \
  --header "Authorization: Bearer $token" \
  --report junit,ndjson --report-dir "$report_dir" \
  "$@"
rc=$?
set -e
echo "contract: schemathesis finished in $(($(date +%s) - started)) s with exit code $rc"
# The service's own errors (a 5xx it answered); actix's notes on unparseable requests are not.
if grep '"level":"ERROR"' "$log" | grep -q '"target":"crm_'; then
  echo "contract: the service logged errors:" >&2
  grep '"level":"ERROR"' "$log" | grep '"target":"crm_' | head -n 20 >&2
  rc=1
fi
exit "$rc"
