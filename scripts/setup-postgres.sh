#!/usr/bin/env bash
# Provides PostgreSQL's server binaries (Debian's `postgresql`), for the shared store of several
# service instances (issue 14) and its tests. Never starts the system's cluster: tests start a
# throwaway server of their own (scripts/postgres.sh). Idempotent. Prints the binaries' directory.
set -euo pipefail
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  bash "$(dirname "$0")/apt-install.sh" pg_ctlcluster postgresql "PostgreSQL for the shared job store and its tests" >/dev/null
  bin=$(find_bin)
fi
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "setup-postgres: no initdb after installing postgresql" >&2; exit 1; }
echo "$bin"
