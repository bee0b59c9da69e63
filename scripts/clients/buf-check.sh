#!/usr/bin/env bash
# buf lint + breaking-change check of proto/ against the main branch.
#
# The baseline is ROSTER_BREAKING_AGAINST (default: main), looked up as a
# local branch, then as origin/<name>. A fresh CI clone may have neither (a
# detached checkout of a single commit): then the check compares against HEAD,
# which still catches uncommitted changes, and says so. When the baseline has
# no proto/ yet, there is nothing to break and the check is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh
scripts/clients/tools.sh

log "buf lint"
"$BUF" lint

want=${ROSTER_BREAKING_AGAINST:-main}
ref=""
if git rev-parse --verify --quiet "refs/heads/$want^{commit}" >/dev/null; then
  ref="refs/heads/$want"
elif git rev-parse --verify --quiet "refs/remotes/origin/$want^{commit}" >/dev/null; then
  ref="refs/remotes/origin/$want"
elif git rev-parse --verify --quiet "HEAD^{commit}" >/dev/null; then
  echo "note: no branch '$want' in this clone; comparing against HEAD instead (only uncommitted proto changes are checked)" >&2
  ref=HEAD
else
  echo "note: no commits to compare against; skipping buf breaking" >&2
  exit 0
fi

commit=$(git rev-parse "$ref^{commit}")
if ! git cat-file -e "$commit:proto" 2>/dev/null; then
  echo "note: $ref has no proto/ directory; skipping buf breaking" >&2
  exit 0
fi

# Export the baseline's proto/ with git archive instead of buf's `.git#...`
# input: that one clones the repository, which fails in a git worktree (.git
# is a file) and in shallow clones.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$commit" proto | tar -x -C "$tmp"
log "buf breaking against $ref ($(git rev-parse --short "$commit"))"
"$BUF" breaking --against "$tmp/proto"
