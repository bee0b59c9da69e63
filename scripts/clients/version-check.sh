#!/usr/bin/env bash
# The four SDKs carry one version: the repository's VERSION file, and the
# root LICENSE. Fails,
# naming the file, when a manifest disagrees. To release a new version, change
# VERSION and every place listed here, and add a CHANGELOG.md entry.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh

want=$(tr -d ' \n' < VERSION)
[[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.]+)?$ ]] || die "VERSION '$want' is not a semantic version"
bad=0
check() { # FILE FOUND
  if [ "$2" != "$want" ]; then
    echo "version mismatch: $1 has '$2', VERSION has '$want'" >&2
    bad=1
  fi
}
check clients/python/pyproject.toml "$(sed -n 's/^version = "\(.*\)"$/\1/p' clients/python/pyproject.toml)"
check clients/typescript/package.json "$(sed -n 's/^  "version": "\(.*\)",$/\1/p' clients/typescript/package.json)"
check clients/typescript/package-lock.json "$(sed -n '2,4s/^  "version": "\(.*\)",$/\1/p' clients/typescript/package-lock.json)"
check clients/typescript/src/index.ts "$(sed -n 's/^export const VERSION = "\(.*\)";$/\1/p' clients/typescript/src/index.ts)"
check clients/go/roster.go "$(sed -n 's/^const Version = "\(.*\)"$/\1/p' clients/go/roster.go)"
# The project's own version (the first <version> after <artifactId>roster-client).
check clients/java/pom.xml "$(sed -n '/<artifactId>roster-client<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p;q}' clients/java/pom.xml)"
# Each package ships the licence; the copies are the root LICENSE.
for f in clients/python/LICENSE clients/typescript/LICENSE clients/go/LICENSE clients/java/LICENSE; do
  cmp -s LICENSE "$f" || { echo "$f differs from LICENSE (cp LICENSE $f)" >&2; bad=1; }
done
grep -q "^## \[$want\]" CHANGELOG.md || { echo "CHANGELOG.md has no '## [$want]' entry" >&2; bad=1; }
[ "$bad" = 0 ] || die "SDK versions disagree with VERSION"
log "SDK version $want in all four SDKs and CHANGELOG.md"
