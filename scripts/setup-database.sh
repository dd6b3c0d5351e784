#!/usr/bin/env bash
# Provides a MySQL-compatible server (Debian's MariaDB) and MySQLdb (mysqlclient, the script's
# fallback driver and what the test's mysql.connector stand-in runs on: Debian 12 does not package
# mysql-connector-python), so the test of the migrate task's app-user provisioning runs its
# script against a real server (test/infra/appDatabaseUser.test.ts). The server is never started here: the test
# starts its own, unprivileged, in a temporary directory. Idempotent. Prints the server's path.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/apt-install.sh" python3:MySQLdb python3-mysqldb "a MySQL driver for the app-user test" >/dev/null
exec bash "$here/apt-install.sh" /usr/sbin/mariadbd mariadb-server "a MySQL server for the app-user test"
