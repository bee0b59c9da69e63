#!/usr/bin/env bash
# Installs one SDK the way its ecosystem installs a package from a path or a
# built artifact, into a fresh project in a temporary directory outside the
# repository, then imports it and calls the server at $ROSTER_SMOKE_TARGET
# with $ROSTER_SMOKE_KEY (scripts/clients-test.sh sets both). The programs
# (scripts/clients/install/) create an identity, read it back, check the
# SDK's version against VERSION and a bad request's reason against the
# reason constant.
#
#   scripts/clients/install-test.sh python|go|typescript|java
#
#   python       pip install clients/python into a fresh venv on the oldest
#                Python the package claims (requires-python; $ROSTER_PYTHON_OLDEST
#                or python3.X on PATH or ~/.pyenv/versions/3.X.*), sync and asyncio
#   go           go mod init; go mod edit -replace=...=<checkout>; go get; go run
#   typescript   npm pack in clients/typescript (prepare builds dist/), then
#                npm install <the .tgz> in a fresh package and node app.mjs
#   java         mvn install in clients/java, then a separate Maven project
#                that depends on dev.roster:roster-client:<VERSION>
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/clients/lib.sh

repo=$PWD
version=$(tr -d ' \n' < VERSION)
lang=${1:?usage: install-test.sh python|go|typescript|java}
: "${ROSTER_SMOKE_TARGET:?set ROSTER_SMOKE_TARGET}" "${ROSTER_SMOKE_KEY:?set ROSTER_SMOKE_KEY}"
export ROSTER_SDK_VERSION=$version
app=$(mktemp -d "${TMPDIR:-/tmp}/roster-install-$lang.XXXXXX")
trap 'rm -rf "$app"' EXIT
case $app in "$repo"/*) die "the install test must run outside the repository ($app)";; esac
log "fresh $lang project in $app"

oldest_python() {
  local min
  min=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' clients/python/pyproject.toml)
  [ -n "$min" ] || die "no requires-python = \">=X.Y\" in clients/python/pyproject.toml"
  local c
  for c in "${ROSTER_PYTHON_OLDEST:-}" "python$min" "$HOME"/.pyenv/versions/"$min".*/bin/python; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 || continue
    if [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$min" ]; then
      echo "$c"; return 0
    fi
  done
  die "Python $min (the oldest requires-python allows) is not installed; set ROSTER_PYTHON_OLDEST"
}

case $lang in
python)
  py=$(oldest_python)
  log "$("$py" --version) venv; pip install $repo/clients/python"
  "$py" -m venv "$app/venv"
  "$app/venv/bin/pip" install -q --disable-pip-version-check "$repo/clients/python"
  cp scripts/clients/install/app.py "$app/"
  (cd "$app" && venv/bin/python app.py)
  ;;
go)
  cp scripts/clients/install/main.go "$app/"
  (
    cd "$app"
    go mod init example.com/rosterapp >/dev/null 2>&1
    # The module is not published: point it at the checkout, then require
    # it at a version (any; the replacement serves it) so go get needs no proxy lookup.
    go mod edit -replace "github.com/roster-dev/roster/clients/go=$repo/clients/go"
    go get "github.com/roster-dev/roster/clients/go@v$version"
    go mod tidy
    go run .
  )
  ;;
typescript)
  if [ ! -d clients/typescript/node_modules ]; then
    (cd clients/typescript && npm_quiet ci --ignore-scripts)
  fi
  # npm pack runs "prepare" (tsc), so the tarball carries dist/.
  (cd clients/typescript && npm_quiet pack --silent --pack-destination "$app" >/dev/null)
  tgz=$(ls "$app"/*.tgz)
  log "npm install $(basename "$tgz")"
  mkdir "$app/project"
  cp scripts/clients/install/app.mjs "$app/project/"
  (
    cd "$app/project"
    printf '{"name":"roster-install-test","version":"1.0.0","private":true,"type":"module"}\n' > package.json
    npm_quiet install "$tgz"
    node app.mjs
  )
  ;;
java)
  log "mvn install (clients/java)"
  (cd clients/java && mvn -B -ntp -q -Dstyle.color=never -DskipTests install)
  mkdir -p "$app/src/main/java/example"
  cp scripts/clients/install/App.java "$app/src/main/java/example/"
  sed "s/@VERSION@/$version/" scripts/clients/install/pom.xml > "$app/pom.xml"
  (cd "$app" && mvn -B -ntp -q -Dstyle.color=never compile exec:java)
  ;;
*) die "unknown SDK '$lang' (python, go, typescript, java)" ;;
esac
log "$lang SDK $version installed outside the repository and called the server"
