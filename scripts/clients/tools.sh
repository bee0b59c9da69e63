#!/usr/bin/env bash
# Installs the pinned code-generation tools into clients/tools/ (idempotent;
# skipped when nothing changed):
#   node_modules/   @bufbuild/buf, @bufbuild/protoc-gen-es  (package-lock.json)
#   .venv/          grpcio-tools, mypy-protobuf             (requirements.txt)
#   bin/            protoc-gen-go, protoc-gen-go-grpc       (versions in lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh

if ! stamp_ok npm "$ROSTER_TOOLS/package-lock.json" || [ ! -x "$BUF" ]; then
  log "tools: npm ci (buf, protoc-gen-es)"
  (cd "$ROSTER_TOOLS" && npm_quiet ci)
  stamp_write npm "$ROSTER_TOOLS/package-lock.json"
fi

if ! stamp_ok venv "$ROSTER_TOOLS/requirements.txt" || [ ! -x "$ROSTER_TOOLS/.venv/bin/python" ]; then
  log "tools: python venv (grpcio-tools, mypy-protobuf)"
  rm -rf "$ROSTER_TOOLS/.venv"
  python3 -m venv "$ROSTER_TOOLS/.venv"
  "$ROSTER_TOOLS/.venv/bin/pip" install -q --disable-pip-version-check -r "$ROSTER_TOOLS/requirements.txt"
  stamp_write venv "$ROSTER_TOOLS/requirements.txt"
fi

if ! stamp_ok go-plugins "$PROTOC_GEN_GO_VERSION" "$PROTOC_GEN_GO_GRPC_VERSION" \
   || [ ! -x "$ROSTER_TOOLS/bin/protoc-gen-go" ] || [ ! -x "$ROSTER_TOOLS/bin/protoc-gen-go-grpc" ]; then
  log "tools: go install protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"
  GOBIN="$PWD/$ROSTER_TOOLS/bin" GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  GOBIN="$PWD/$ROSTER_TOOLS/bin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  stamp_write go-plugins "$PROTOC_GEN_GO_VERSION" "$PROTOC_GEN_GO_GRPC_VERSION"
fi
