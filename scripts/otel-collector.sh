#!/usr/bin/env bash
# Builds a minimal OpenTelemetry Collector (OTLP receiver, file exporter)
# with the collector builder `ocb` from the Go module proxy, both pinned
# below, and prints the binary's path. The binary is cached under
# target/otelcol/<version>/, so a warm run does not rebuild it; Go's own
# module and build caches make a cold run cheaper too.
#
# ocb generates the sources; the modules are fetched and compiled here
# rather than by ocb, because its `go mod tidy` also wants the modules of
# the file exporter's *tests*, one of which the proxy does not serve.
# `go mod tidy -e` records everything the build needs and skips that one.
set -euo pipefail
cd "$(dirname "$0")/.."

OTELCOL_VERSION=0.165.0
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target/otelcol/$OTELCOL_VERSION"
dir="$(cd "$target/otelcol/$OTELCOL_VERSION" && pwd)"
bin="$dir/otelcol-roster"

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "otel-collector.sh: Go is needed to build the collector" >&2; exit 1; }
  started=$(date +%s)
  GOBIN="$dir" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" >&2
  receiver="go.opentelemetry.io/collector/receiver/otlpreceiver"
  exporter="github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
  cat >"$dir/builder.yaml" <<YAML
dist:
  name: otelcol-roster
  description: OpenTelemetry Collector for Roster's telemetry test
  output_path: $dir/build
receivers:
  - gomod: $receiver v$OTELCOL_VERSION
exporters:
  - gomod: $exporter v$OTELCOL_VERSION
YAML
  rm -rf "$dir/build"
  "$dir/builder" --config "$dir/builder.yaml" --skip-get-modules --skip-compilation >&2
  (
    cd "$dir/build"
    go mod init otelcol-roster >&2
    go get "$receiver@v$OTELCOL_VERSION" "$exporter@v$OTELCOL_VERSION" >&2
    go mod tidy -e >&2 2>/dev/null || true
    go build -trimpath -ldflags="-s -w" -o "$bin.tmp" .
  )
  mv "$bin.tmp" "$bin"
  rm -rf "$dir/build"
  echo "otel-collector.sh: built the collector in $(( $(date +%s) - started )) s" >&2
fi
echo "$bin"
