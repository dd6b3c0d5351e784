#!/usr/bin/env bash
# Provides bubblewrap (Debian's `bubblewrap`), the sandbox pull-request previews run in
# (automation/pulumi/sandbox.ts); the service refuses to turn webhooks on without it.
# Idempotent: does nothing when bwrap is on PATH. Prints its path on success.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1; then
  command -v bwrap
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "setup-sandbox: bwrap is missing and this user is not root and has no sudo; install it as root: apt-get install -y bubblewrap" >&2
  exit 1
fi
echo "setup-sandbox: installing bubblewrap with apt-get" >&2
"${sudo[@]}" apt-get install -y --no-install-recommends bubblewrap >&2 || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y --no-install-recommends bubblewrap >&2; }
command -v bwrap
