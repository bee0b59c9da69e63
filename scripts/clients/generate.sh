#!/usr/bin/env bash
# Regenerates the committed client code from proto/ with buf and the pinned
# local plugins (scripts/clients/tools.sh installs them):
#   clients/go/rosterv1/                    Go messages + gRPC clients
#   clients/python/src/roster_client/v1/    Python messages, stubs, .pyi
#   clients/typescript/src/gen/             TypeScript (ESM) messages + service descriptors
# plus copies of clients/service_config.json (retry/deadline policy) that each
# SDK ships.
#
#   scripts/clients/generate.sh            write into the work tree
#   scripts/clients/generate.sh --check    regenerate into a temp dir and fail
#                                          (with a diff) if the committed code is stale
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh

check=false
[ "${1:-}" = "--check" ] && check=true

scripts/clients/tools.sh

# Everything below these paths is generated; nothing hand-written lives there.
GENERATED=(
  clients/go/rosterv1
  clients/python/src/roster_client/v1
  clients/typescript/src/gen
  clients/go/service_config.json
  clients/python/src/roster_client/service_config.json
)

generate_into() { # ROOT: "" for the work tree, else an output base directory
  local root=$1 out_flag=()
  [ -n "$root" ] && out_flag=(-o "$root")
  "$BUF" generate "${out_flag[@]}"
  "$BUF" generate "${out_flag[@]}" --template clients/typescript/buf.gen.rpc.yaml
  local base=${root:-.}
  cp clients/service_config.json "$base/clients/go/service_config.json"
  cp clients/service_config.json "$base/clients/python/src/roster_client/service_config.json"
  cp clients/service_config.json "$base/clients/typescript/src/gen/service_config.json"
}

if ! $check; then
  for p in "${GENERATED[@]}"; do rm -rf "$p"; done
  generate_into ""
  log "generated: ${GENERATED[*]}"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/clients/go" "$tmp/clients/python/src/roster_client"
generate_into "$tmp"
stale=0
for p in "${GENERATED[@]}"; do
  if ! diff -ru "$p" "$tmp/$p" > "$tmp/diff.txt" 2>&1; then
    stale=1
    echo "STALE: $p differs from what proto/ generates:" >&2
    head -n 60 "$tmp/diff.txt" >&2
  fi
done
if [ "$stale" = 1 ]; then
  die "generated client code is stale; run scripts/clients/generate.sh and commit the result"
fi
log "generated client code is up to date with proto/"
