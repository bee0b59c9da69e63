#!/usr/bin/env bash
# Client SDK checks, one entry point (called from scripts/test.sh / CI):
#
#   tools       pinned buf, protoc-gen-es, grpcio-tools, protoc-gen-go(-grpc), grpcurl
#               into clients/tools/ (skipped when already there)
#   buf         buf lint; buf breaking against the main branch's proto/
#   stale       regenerate Go/Python/TypeScript into a temp dir, diff with the committed code
#   server      cargo build --release (once), roster serve on a free port, fresh SQLite
#   version     the four SDK manifests and CHANGELOG.md agree with VERSION
#   python, go, typescript, java
#               build each SDK from the repository and run its tests against the server
#               (smoke, plus round_robin over two more servers: ROSTER_LB_A / ROSTER_LB_B)
#   install-python, install-go, install-typescript, install-java
#               install the SDK into a fresh project outside the repository, import it
#               and call the server (scripts/clients/install-test.sh)
#   walkthrough extractor self-test, then the README's "## Walkthrough" ```sh blocks
#               against a fresh server on 127.0.0.1:50051 (scripts/clients/walkthrough.sh)
#
# Every step is timed; the summary ends with "clients: N passed, N failed".
# Steps after a failed one still run (except when tools or the server build
# fail). Re-runs reuse clients/tools/, the SDKs' .venv / node_modules,
# ~/.m2, the Go caches and cargo's target dir.
#
#   scripts/clients-test.sh [--pending-ok] [STEP ...]
#
# --pending-ok   a smoke test that meets UNIMPLEMENTED skips its remaining steps
#                instead of failing (while services are still being written)
# STEP ...       run only these steps (tools and the server start as needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/clients/lib.sh

ALL_STEPS=(buf stale version python go typescript java install-python install-go install-typescript install-java walkthrough)
selected=()
for a in "$@"; do
  case $a in
    --pending-ok) export ROSTER_SMOKE_PENDING_OK=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) [[ " ${ALL_STEPS[*]} " == *" $a "* ]] || die "unknown step '$a' (steps: ${ALL_STEPS[*]})"
       selected+=("$a") ;;
  esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${ALL_STEPS[@]}")
want() { [[ " ${selected[*]} " == *" $1 "* ]]; }

names=() times=() results=()
passed=0 failed=0
script_start=$SECONDS

# run_step NAME COMMAND...: runs, times and records one step.
run_step() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  printf '\n===== %s\n' "$name" >&2
  "$@" || rc=$?
  local dt=$((SECONDS - t0))
  names+=("$name"); times+=("$dt")
  if [ "$rc" = 0 ]; then
    results+=(ok); passed=$((passed + 1))
    printf '===== %s: ok (%ss)\n' "$name" "$dt" >&2
  else
    results+=("FAILED (exit $rc)"); failed=$((failed + 1))
    printf '===== %s: FAILED, exit %s (%ss)\n' "$name" "$rc" "$dt" >&2
  fi
  return 0
}

summary() {
  printf '\n%-18s %6s  %s\n' step seconds result
  local i
  for i in "${!names[@]}"; do
    printf '%-18s %6s  %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
  done
  printf '%-18s %6s\n' total $((SECONDS - script_start))
  echo "clients: $passed passed, $failed failed"
}

work=$(mktemp -d)
cleanup() { stop_roster; rm -rf "$work"; }
trap cleanup EXIT

# ---- tools (everything below needs them) -------------------------------
tools() { scripts/clients/tools.sh && ensure_grpcurl; }
run_step tools tools
if [ "${results[-1]}" != ok ]; then summary; exit 1; fi

want buf && run_step buf scripts/clients/buf-check.sh
want stale && run_step stale scripts/clients/generate.sh --check
want version && run_step version scripts/clients/version-check.sh

# ---- server for the smoke tests ----------------------------------------
needs_server=false
SMOKE_STEPS=(python go typescript java install-python install-go install-typescript install-java)
for s in "${SMOKE_STEPS[@]}" walkthrough; do want "$s" && needs_server=true; done
if $needs_server; then
  build_server() { ROSTER_BIN=$(roster_bin) && [ -x "$ROSTER_BIN" ]; }
  run_step server-build build_server
  if [ "${results[-1]}" != ok ]; then summary; exit 1; fi
  export ROSTER_BIN
fi

SMOKE_KEY="rsk_smoke_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
smoke_server() {
  local port
  port=$(free_port)
  start_roster "127.0.0.1:$port" "$work/smoke" "$SMOKE_KEY"
  export ROSTER_SMOKE_TARGET="127.0.0.1:$port" ROSTER_SMOKE_KEY="$SMOKE_KEY"
  log "roster serve on $ROSTER_SMOKE_TARGET (log: $work/smoke/server.log)"
  # Two more servers, each on its own database, for the round_robin tests.
  local a b
  a=$(free_port); start_roster "127.0.0.1:$a" "$work/lb-a" "$SMOKE_KEY"
  b=$(free_port); start_roster "127.0.0.1:$b" "$work/lb-b" "$SMOKE_KEY"
  export ROSTER_LB_A="127.0.0.1:$a" ROSTER_LB_B="127.0.0.1:$b"
  log "round_robin replicas on $ROSTER_LB_A and $ROSTER_LB_B"
  # One more with TLS and client certificates from a CA made here, for the
  # smoke tests' mTLS run (SPEC O6), when the server has the flags.
  if "$ROSTER_BIN" serve --help 2>/dev/null | grep -q -- '--tls-client-ca'; then
    local m
    make_test_ca "$work/tls"
    m=$(free_port)
    start_roster "127.0.0.1:$m" "$work/mtls" "$SMOKE_KEY" \
      --tls-cert "$work/tls/server.pem" --tls-key "$work/tls/server.key" --tls-client-ca "$work/tls/ca.pem"
    export ROSTER_MTLS_TARGET="127.0.0.1:$m" ROSTER_MTLS_CA="$work/tls/ca.pem" \
      ROSTER_MTLS_CERT="$work/tls/client.pem" ROSTER_MTLS_KEY="$work/tls/client.key"
    log "mTLS server on $ROSTER_MTLS_TARGET (test CA in $work/tls)"
  else
    log "SKIP mTLS runs: this roster serve has no --tls-client-ca (SPEC O6 not built in)"
  fi
}
smokes=false
for s in "${SMOKE_STEPS[@]}"; do want "$s" && smokes=true; done
if $smokes; then
  run_step server-start smoke_server
  if [ "${results[-1]}" != ok ]; then summary; exit 1; fi
fi

# ---- the four SDKs -------------------------------------------------------
python_smoke() {
  local venv=clients/python/.venv
  if ! stamp_ok py-sdk clients/python/pyproject.toml || [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # Dependencies once (pinned build backend + test runner); the package
    # itself is reinstalled from the work tree below, without build isolation.
    "$venv/bin/pip" install -q --disable-pip-version-check hatchling==1.33.0 ./clients/python"[test]"
    stamp_write py-sdk clients/python/pyproject.toml
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall ./clients/python
  "$venv/bin/python" -m pytest -q -rs -s -p no:cacheprovider clients/python/tests
}

go_smoke() {
  (cd clients/go && go vet ./... && go test -count=1 -v ./...)
}

typescript_smoke() {
  if ! stamp_ok ts-sdk clients/typescript/package-lock.json || [ ! -d clients/typescript/node_modules ]; then
    (cd clients/typescript && npm_quiet ci --ignore-scripts)
    stamp_write ts-sdk clients/typescript/package-lock.json
  fi
  (cd clients/typescript && ./node_modules/.bin/tsc -p . && npm_quiet test)
}

java_smoke() {
  local rc=0
  (cd clients/java && mvn -B -ntp -Dstyle.color=never test) > "$work/mvn.log" 2>&1 || rc=$?
  # Maven's progress chatter out; test output, results and errors stay.
  grep -vE '^\[INFO\] *$|^\[INFO\] -+$|^\[INFO\] (Building|Copying|Nothing to compile|Changes detected|Compiling|Recompiling|No sources|skip non existing|Using|Loading|Scanning|Total time|Finished at|os\.detected|Detecting the operating system)' "$work/mvn.log" \
    | sed 's/\x1b\[[0-9;]*m//g' || true
  return "$rc"
}

want python && run_step python python_smoke
want go && run_step go go_smoke
want typescript && run_step typescript typescript_smoke
want java && run_step java java_smoke
for s in python go typescript java; do
  want "install-$s" && run_step "install-$s" scripts/clients/install-test.sh "$s"
done
$smokes && stop_roster

# ---- grpcurl walkthroughs ---------------------------------------------------
walkthrough() {
  scripts/clients/walkthrough.sh --self-test && scripts/clients/walkthrough.sh README.md
}
want walkthrough && run_step walkthrough walkthrough

summary
[ "$failed" = 0 ]
