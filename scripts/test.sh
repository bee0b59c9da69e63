#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, and every test on
# SQLite and on a real PostgreSQL (started here if none is configured).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
roster_start_postgres
echo "PostgreSQL for tests: ${ROSTER_TEST_POSTGRES_URL%%@*}@…"

# Databases left by earlier runs (test and bench databases are named
# `roster_test_p<pid>_…` / `roster_bench_p<pid>_…`): dropped when their
# process is gone, so a run under way beside this one keeps its own.
psql "$ROSTER_TEST_POSTGRES_URL" -tAc \
  "SELECT datname FROM pg_database WHERE datname LIKE 'roster\_test\_%' OR datname LIKE 'roster\_bench\_%'" \
  | while read -r db; do
      pid="$(sed -nE 's/^roster_(test|bench)_p([0-9]+)_.*/\2/p' <<<"$db")"
      if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then continue; fi
      psql "$ROSTER_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
    done || true

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# deploy/: render, strict schema validation, the Deployment run for real.
scripts/deploy-test.sh
# A real OpenTelemetry Collector for the O2 telemetry test (built once and
# cached under target/; needs Go, as the client SDK tests do).
ROSTER_OTELCOL_BIN="$(scripts/otel-collector.sh)"
export ROSTER_OTELCOL_BIN
# Tests wait on servers, leases and the database more than on the CPU:
# six at once (the test cluster allows 400 connections, scripts/postgres.sh).
RUST_TEST_THREADS="${RUST_TEST_THREADS:-6}" cargo test --all-targets --locked

# Client SDKs (Python, TypeScript, Go, Java) against a live server, buf
# lint/breaking, generated-code staleness and the README walkthroughs. The
# debug server binary built by `cargo test` is enough for smoke tests.
ROSTER_BIN="${CARGO_TARGET_DIR:-target}/debug/roster" scripts/clients-test.sh

# SCIM compliance: scim2-tester (PyPI, pinned in scripts/scim/requirements.txt,
# in a venv like the SDK tools) against a live `roster serve --scim-listen`.
ROSTER_BIN="${CARGO_TARGET_DIR:-target}/debug/roster" scripts/scim-test.sh

# roster-bench end to end on both backends with the quick data set and
# 1 s scenarios. A debug build, so its figures mean nothing here; it has
# to run through (a failed call or backend exits non-zero).
echo "===== roster-bench smoke run (debug build; figures not meaningful)"
"${CARGO_TARGET_DIR:-target}/debug/roster-bench" --quick --duration 1s \
  --database-url sqlite --database-url "$ROSTER_TEST_POSTGRES_URL"
