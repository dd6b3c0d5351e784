#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the pinned Pulumi CLI with the project's settings, from anywhere in
# the repository: the CLI and its language host (scripts/setup-pulumi.sh, cached), the project's
# own Node first on PATH (the host starts `node`; the SDK needs Node >= 22), no update check (no
# internet needed), and the project's root as the working directory, where Pulumi.yaml is.
# Everything else (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, AWS_*) comes from the environment.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(bash "$repo/scripts/setup-pulumi.sh")"
export PATH="$bin:$repo/node_modules/.bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
cd "$repo"
exec "$bin/pulumi" "$@"
