#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, benchmarks and CI: a fresh cluster in DIR, on a free
# port of 127.0.0.1, trust authentication for one user, stopped and removed by `stop`.
#   bash scripts/postgres.sh start DIR     prints postgres://automation@127.0.0.1:<port>/automation
#   bash scripts/postgres.sh stop DIR
#   bash scripts/postgres.sh pause DIR     stops the server, keeping its data (an outage)
#   bash scripts/postgres.sh resume DIR    starts it again on the same port and socket
# PG_SOCKET_DIR puts the unix socket elsewhere (default: DIR); PG_OPTIONS adds server options
# (e.g. "-c max_connections=20").
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop|pause|resume DIR} dir=${2:?usage: postgres.sh start|stop|pause|resume DIR}
bin=$(bash "$(dirname "$0")/setup-postgres.sh")
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
case "$cmd" in
  start)
    mkdir -p "$dir"
    sockets=${PG_SOCKET_DIR:-$dir}
    mkdir -p "$sockets"
    if [ ${#as[@]} -gt 0 ]; then
      chown postgres: "$dir" "$sockets"
      # The server's user must reach DIR: let it pass through (not list) the directories above, up to /tmp.
      p=$(dirname "$(realpath "$dir")")
      while [ "$p" != "/" ] && [ "$p" != "/tmp" ]; do chmod a+x "$p"; p=$(dirname "$p"); done
    fi
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U automation -A trust --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "${PG_OPTIONS:-}" >"$dir/options"
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $sockets -c listen_addresses=127.0.0.1 -c fsync=off ${PG_OPTIONS:-}" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U automation automation
    echo "$port" >"$dir/port"
    echo "$sockets" >"$dir/sockets"
    echo "postgres://automation@127.0.0.1:$port/automation"
    ;;
  pause)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    port=$(cat "$dir/port") sockets=$(cat "$dir/sockets") options=$(cat "$dir/options" 2>/dev/null || true)
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $sockets -c listen_addresses=127.0.0.1 -c fsync=off $options" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    [ -d "$dir/data" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: postgres.sh start|stop|pause|resume DIR" >&2; exit 2 ;;
esac
