#!/usr/bin/env bash
# SCIM compliance (issue 15): installs the pinned scim2-tester from PyPI
# into a venv (reused while scripts/scim/requirements.txt is unchanged,
# as scripts/clients/tools.sh does for the code generators), starts a live
# `roster serve --scim-listen …` on a temporary SQLite database, and runs
# scripts/scim/check_server.py against it: no check may end in CRITICAL
# or ERROR, and every DEVIATION must be listed in the README.
#
#   ROSTER_BIN=target/debug/roster scripts/scim-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/clients/lib.sh

ROSTER_BIN=${ROSTER_BIN:-${CARGO_TARGET_DIR:-target}/debug/roster}
venv=scripts/scim/.venv
if ! stamp_ok scim-tester scripts/scim/requirements.txt clients/python/pyproject.toml \
   || [ ! -x "$venv/bin/python" ]; then
  log "scim: python venv (scim2-tester, roster_client)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/scim/requirements.txt
  stamp_write scim-tester scripts/scim/requirements.txt clients/python/pyproject.toml
fi
# The SDK from this tree (messages of this very proto).
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall ./clients/python

dir=$(mktemp -d)
key="rsk_scim-tester-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
grpc_port=$(free_port)
scim_port=$(free_port)
ROSTER_SERVICE_KEYS="scim-tester=$key" "$ROSTER_BIN" serve \
  --database-url "sqlite://$dir/roster.db?mode=rwc" \
  --listen "127.0.0.1:$grpc_port" --scim-listen "127.0.0.1:$scim_port" \
  >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $scim_port), 1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "===== scim2-tester against roster serve --scim-listen 127.0.0.1:$scim_port"
if ! "$venv/bin/python" scripts/scim/check_server.py "127.0.0.1:$grpc_port" \
    "http://127.0.0.1:$scim_port/scim/v2" "$key"; then
  echo "--- server log" >&2
  tail -n 50 "$dir/server.log" >&2
  exit 1
fi
