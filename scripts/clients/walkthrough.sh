#!/usr/bin/env bash
# Runs the README's walkthroughs as CI: every ```sh block under a
# "## Walkthrough..." heading, in order, in one bash with set -euo pipefail,
# against a fresh `roster serve` on 127.0.0.1:50051 (the address the README
# uses; SCIM on 127.0.0.1:8443) with KEY exported as its service key. Fails if any command fails.
#
#   scripts/clients/walkthrough.sh                 README.md
#   scripts/clients/walkthrough.sh FILE.md ...     other files, each in its own bash
#   scripts/clients/walkthrough.sh --self-test     the extractor's fixture:
#       checks which blocks are picked, runs them, and checks a failing block fails
#
# Pinned grpcurl is installed into clients/tools/bin when missing; the blocks
# run from the repository root with it first on PATH. ROSTER_BIN overrides the
# server binary (default: target/release/roster, built when stale).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh

ADDR=127.0.0.1:50051
# The SCIM listener the README's Walkthrough 6 uses.
SCIM_ADDR=127.0.0.1:8443
FIXTURE=scripts/clients/testdata/walkthrough-sample.md

self_test=false
files=()
for a in "$@"; do
  case $a in
    --self-test) self_test=true ;;
    *) files+=("$a") ;;
  esac
done
$self_test && files=("$FIXTURE")
[ ${#files[@]} -gt 0 ] || files=(README.md)

ensure_grpcurl
ensure_jq

work=$(mktemp -d)
trap 'stop_roster; rm -rf "$work"' EXIT

if $self_test; then
  # Which blocks the extractor takes from the fixture (file:line).
  got=$(python3 scripts/clients/walkthrough_extract.py --list "$FIXTURE" | cut -f1 | sed 's/.*://' | tr '\n' ' ')
  want="17 39 48 54 72 "
  [ "$got" = "$want" ] || die "extractor self-test: picked blocks at lines '$got', want '$want'"
  # A failing command must fail the run and be named.
  # shellcheck disable=SC2016 # literal markdown
  printf '## Walkthrough X\n\n```sh\ntrue\nfalse\necho unreachable\n```\n' > "$work/fail.md"
  python3 scripts/clients/walkthrough_extract.py "$work/fail.md" > "$work/fail.sh"
  if bash "$work/fail.sh" > "$work/fail.out" 2>&1; then
    die "extractor self-test: a failing block did not fail the run"
  fi
  grep -q "walkthrough FAILED: $work/fail.md:4" "$work/fail.out" || { cat "$work/fail.out" >&2; die "extractor self-test: failure not located"; }
  ! grep -q unreachable "$work/fail.out" || die "extractor self-test: ran past a failing command"
  log "walkthrough extractor self-test: block selection and failure handling OK"
fi

export KEY
KEY="rsk_walkthrough_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
for f in "${files[@]}"; do
  script="$work/$(basename "$f").sh"
  python3 scripts/clients/walkthrough_extract.py "$f" > "$script"
  n=$(python3 scripts/clients/walkthrough_extract.py --list "$f" | wc -l)
  if [ "$n" = 0 ]; then
    echo "note: $f has no \`\`\`sh blocks under '## Walkthrough' headings yet; nothing to run" >&2
    continue
  fi
  start_roster "$ADDR" "$work/server" "$KEY" --scim-listen "$SCIM_ADDR"
  log "walkthrough: $n block(s) from $f against roster serve on $ADDR"
  if ! bash "$script"; then
    echo "--- server log (tail)" >&2
    tail -n 40 "$work/server/server.log" >&2
    die "walkthrough of $f failed"
  fi
  stop_roster
done
