# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared helpers for the client SDK scripts (sourced, not run).
# Paths are relative to the repository root; every script cd's there first.

ROSTER_TOOLS=clients/tools
BUF="$ROSTER_TOOLS/node_modules/.bin/buf"

# Pinned tool versions (bump together with buf.gen.yaml's comments and
# regenerate: scripts/clients/generate.sh).
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCURL_VERSION=v1.9.4

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

# The roster binary: $ROSTER_BIN, else target/release/roster (built once).
roster_bin() {
  if [ -n "${ROSTER_BIN:-}" ]; then echo "$ROSTER_BIN"; return; fi
  local dir=${CARGO_TARGET_DIR:-$PWD/target}
  if [ ! -x "$dir/release/roster" ] || [ -n "$(find src proto build.rs Cargo.toml Cargo.lock -newer "$dir/release/roster" -print -quit)" ]; then
    log "cargo build --release"
    cargo build --release --locked >&2
  fi
  echo "$dir/release/roster"
}

# start_roster ADDR DIR KEY: runs `roster serve` on ADDR with a fresh SQLite
# database in DIR and the service key smoke=KEY; sets ROSTER_PID. Waits until
# the server answers (reflection) and fails if it does not within 30s.
start_roster() {
  local addr=$1 dir=$2 key=$3 bin
  bin=$(roster_bin)
  mkdir -p "$dir"
  rm -f "$dir"/r.db*
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
    die "$addr is already in use; stop whatever listens there (another roster serve?) and retry"
  fi
  ROSTER_SERVICE_KEYS="smoke=$key" RUST_LOG=${RUST_LOG:-warn} \
    "$bin" serve --listen "$addr" --database-url "sqlite://$dir/r.db?mode=rwc" \
    > "$dir/server.log" 2>&1 &
  ROSTER_PID=$!
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then return 0; fi
    kill -0 "$ROSTER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; die "roster serve exited"; }
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  die "roster serve did not listen on $addr within 30s"
}

stop_roster() {
  if [ -n "${ROSTER_PID:-}" ] && kill -0 "$ROSTER_PID" 2>/dev/null; then
    kill "$ROSTER_PID" 2>/dev/null || true
    wait "$ROSTER_PID" 2>/dev/null || true
  fi
  ROSTER_PID=""
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# grpcurl, pinned: clients/tools/bin/grpcurl, installed from the Go module
# proxy when missing or of another version.
ensure_grpcurl() {
  if ! stamp_ok grpcurl "$GRPCURL_VERSION" || [ ! -x "$ROSTER_TOOLS/bin/grpcurl" ]; then
    log "tools: go install grpcurl $GRPCURL_VERSION"
    GOBIN="$PWD/$ROSTER_TOOLS/bin" GOFLAGS=-mod=mod \
      go install -ldflags "-X main.version=$GRPCURL_VERSION" "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
    stamp_write grpcurl "$GRPCURL_VERSION"
  fi
  export PATH="$PWD/$ROSTER_TOOLS/bin:$PATH"
}

ensure_jq() {
  command -v jq >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing jq (apt)"
    apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null
  fi
  command -v jq >/dev/null 2>&1 || die "jq is needed for the README walkthroughs (Debian: apt-get install jq)"
}
