#!/usr/bin/env bash
# Takes a fresh machine of this kind to one that can run and test the project:
# npm dependencies (including a Node >= 22 toolchain in node_modules/.bin, which `npm run`
# puts first on PATH), the pinned Pulumi CLI (cached outside the repo), and the tools the tests
# use (actionlint, Chromium for the dashboard test, MariaDB and MySQLdb for the app-user test,
# PostgreSQL for throwaway test servers),
# and bubblewrap, the sandbox of pull-request previews. Safe to run again: every step reuses what
# is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

bash scripts/setup-pulumi.sh >/dev/null
for extra in scripts/setup-tools.sh; do
  [ -f "$extra" ] && bash "$extra"
done
bash scripts/setup-browser.sh >/dev/null
bash scripts/setup-sandbox.sh >/dev/null
bash scripts/setup-database.sh >/dev/null
bash scripts/setup-postgres.sh >/dev/null
bash scripts/setup-faketime.sh >/dev/null
echo "setup: done (node $(node_modules/.bin/node --version), pulumi $("$(bash scripts/setup-pulumi.sh 2>/dev/null)/pulumi" version))"
