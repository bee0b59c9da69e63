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

# start_roster ADDR DIR KEY [SERVE_ARG...]: runs `roster serve` on ADDR with a fresh SQLite
# database in DIR and the service key smoke=KEY; sets ROSTER_PID (and adds it
# to ROSTER_PIDS, which stop_roster stops). Waits until
# the server answers (reflection) and fails if it does not within 30s.
start_roster() {
  local addr=$1 dir=$2 key=$3 bin
  shift 3
  bin=$(roster_bin)
  mkdir -p "$dir"
  rm -f "$dir"/r.db*
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
    die "$addr is already in use; stop whatever listens there (another roster serve?) and retry"
  fi
  ROSTER_SERVICE_KEYS="smoke=$key" RUST_LOG=${RUST_LOG:-warn} \
    "$bin" serve --listen "$addr" --database-url "sqlite://$dir/r.db?mode=rwc" "$@" \
    > "$dir/server.log" 2>&1 &
  ROSTER_PID=$!
  ROSTER_PIDS+=("$ROSTER_PID")
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then return 0; fi
    kill -0 "$ROSTER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; die "roster serve exited"; }
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  die "roster serve did not listen on $addr within 30s"
}

ROSTER_PIDS=()
stop_roster() {
  local pid
  for pid in "${ROSTER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  ROSTER_PIDS=()
  ROSTER_PID=""
}

# make_test_ca DIR: a throwaway CA (EC P-256) and two certificates it signs,
# server.pem/server.key for 127.0.0.1 and localhost, client.pem/client.key
# (PKCS#8, as Java wants it); ca.pem is the CA. Nothing here is committed.
make_test_ca() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
      -subj "/CN=Roster test CA" -keyout ca.key -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    local name
    for name in server client; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=roster-$name" -keyout "$name.key" -out "$name.csr" 2>/dev/null
    done
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext
    printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' > client.ext
    for name in server client; do
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    done
    rm -f ./*.csr ./*.ext ca.srl
  )
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
