# Nexus CRM tasks. The two README commands are plain cargo; these mirror and extend them.

set dotenv-load := false

secret := env_var_or_default("JWT_SECRET", "dev-secret-change-me-dev-secret-change-me")

# List the recipes.
default:
    @just --list

# Run the service on :5000 (creates and migrates the database).
run:
    JWT_SECRET={{secret}} LOG_FORMAT=pretty cargo run -p crm-http

# Run every test (needs PostgreSQL on 127.0.0.1:5432).
test:
    cargo test --workspace

# Format check, clippy and the domain purity check.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    ! cargo tree -p crm-domain -e normal --prefix none | grep -E '^(diesel|actix|redis|deadpool|tokio)'

# Create the database if needed and apply migrations.
migrate:
    JWT_SECRET={{secret}} cargo run -p crm-http -- migrate

# Print a token: just token <company-uuid> <admin|manager|user>
token company role="admin":
    @JWT_SECRET={{secret}} cargo run -q -p crm-http -- token --company {{company}} --role {{role}}

# Validate the Kubernetes manifests in deploy/k8s against the schemas (offline).
k8s:
    bash .ci/k8s.sh
# Contract fuzzing: schemathesis (all phases, all checks) against a throwaway service.
contract *args:
    bash .ci/contract.sh {{args}}

# What CI runs.
ci:
    bash .ci/run

# The service against pgbench running the same SQL: get by id, list pages, search, notes,
# interactions, history, stats, dashboard, create; requests/s, p50/p99 and the ratio, plus
# memory (seeds `crm_bench` once; installs wrk from Debian when missing; see docs/performance.md).
bench:
    bash bench/run.sh

# Issue 7: cached vs uncached reads, cache hit ratio, latency with Redis stopped or hung.
bench-redis:
    bash bench/redis.sh

# Fill DATABASE_URL with generated data: just seed 10 100000 [notes] [interactions]
seed companies customers notes="0" interactions="0":
    cargo run --release -p crm-http -- seed --companies {{companies}} --customers {{customers}} --notes {{notes}} --interactions {{interactions}}
