# Shared helpers for the client SDK scripts (sourced, not run).
# Paths are relative to the repository root; every script cd's there first.

ROSTER_TOOLS=clients/tools
BUF="$ROSTER_TOOLS/node_modules/.bin/buf"

# Pinned tool versions (bump together with buf.gen.yaml's comments and
# regenerate: scripts/clients/generate.sh).
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCURL_VERSION=v1.9.3

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stamp_ok NAME INPUT...: true when the stamp file for NAME matches the hash of
# the inputs (files or literal strings), so an install step can be skipped.
_stamp_hash() {
  local x
  for x in "$@"; do
    if [ -f "$x" ]; then sha256sum "$x"; else printf '%s\n' "$x"; fi
  done | sha256sum | cut -d' ' -f1
}
stamp_ok() {
  local name=$1; shift
  [ -f "$ROSTER_TOOLS/.stamps/$name" ] && [ "$(cat "$ROSTER_TOOLS/.stamps/$name")" = "$(_stamp_hash "$@")" ]
}
stamp_write() {
  local name=$1; shift
  mkdir -p "$ROSTER_TOOLS/.stamps"
  _stamp_hash "$@" > "$ROSTER_TOOLS/.stamps/$name"
}

# npm prints a warning for every user-level config key it does not know;
# keep the output readable.
npm_quiet() { npm "$@" --no-audit --no-fund --loglevel=error; }
