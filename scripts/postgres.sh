#!/usr/bin/env bash
# Makes a PostgreSQL server available for the test suite and exports
# ROSTER_TEST_POSTGRES_URL (a superuser URL; every test creates its own
# database). Order: an already set ROSTER_TEST_POSTGRES_URL; the Debian
# cluster (pg_ctlcluster, started if needed); a private cluster made with
# initdb in target/pg. Fails loudly when none works: the suite never skips
# PostgreSQL silently.

# Connections the test cluster allows (the suite runs tests in parallel).
ROSTER_PG_MAX_CONNECTIONS=${ROSTER_PG_MAX_CONNECTIONS:-400}

roster_pg_ready() {
  psql "$1" -tAc 'select 1' >/dev/null 2>&1
}

roster_start_postgres() {
  if [ -n "${ROSTER_TEST_POSTGRES_URL:-}" ]; then
    roster_pg_ready "$ROSTER_TEST_POSTGRES_URL" && return 0
    echo "ROSTER_TEST_POSTGRES_URL is set but not reachable: $ROSTER_TEST_POSTGRES_URL" >&2
    return 1
  fi

  local url="postgres://roster:roster@127.0.0.1:5432/postgres"
  if command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    local cluster
    cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
    if [ -n "$cluster" ]; then
      # The suite runs several tests at once, each with its own servers
      # (up to ~30 connections per test): start with room for them, and
      # restart a cluster that runs with fewer.
      local port
      port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
      local have
      have=$(runuser -u postgres -- psql -p "$port" -tAc 'show max_connections' 2>/dev/null || true)
      if [ -n "$have" ] && [ "$have" -lt "$ROSTER_PG_MAX_CONNECTIONS" ]; then
        # shellcheck disable=SC2086
        pg_ctlcluster --skip-systemctl-redirect $cluster stop >/dev/null 2>&1 || true
      fi
      # shellcheck disable=SC2086
      pg_ctlcluster --skip-systemctl-redirect $cluster start -- \
        -o "-c max_connections=$ROSTER_PG_MAX_CONNECTIONS" >/dev/null 2>&1 || true
      url="postgres://roster:roster@127.0.0.1:${port}/postgres"
      for _ in $(seq 1 30); do
        runuser -u postgres -- psql -p "$port" -tAc 'select 1' >/dev/null 2>&1 && break
        sleep 1
      done
      runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -tAc \
        "DO \$\$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'roster') THEN
             CREATE ROLE roster LOGIN SUPERUSER PASSWORD 'roster';
           END IF;
         END \$\$;" >/dev/null
      if roster_pg_ready "$url"; then
        export ROSTER_TEST_POSTGRES_URL="$url"
        return 0
      fi
    fi
  fi

  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ "$(id -u)" != 0 ]; then
    local dir="$PWD/target/pg" port=55432
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir"
      "$bindir/initdb" -D "$dir/data" -U roster --auth=trust >/dev/null
    fi
    "$bindir/pg_ctl" -D "$dir/data" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=$ROSTER_PG_MAX_CONNECTIONS" \
      -l "$dir/log" start >/dev/null 2>&1 || true
    url="postgres://roster@127.0.0.1:${port}/postgres"
    for _ in $(seq 1 30); do roster_pg_ready "$url" && break; sleep 1; done
    if roster_pg_ready "$url"; then
      export ROSTER_TEST_POSTGRES_URL="$url"
      return 0
    fi
  fi

  echo "No PostgreSQL for the tests: install PostgreSQL (Debian: postgresql) or set ROSTER_TEST_POSTGRES_URL" >&2
  return 1
}
