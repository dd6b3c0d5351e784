#!/usr/bin/env bash
# Provides bubblewrap (Debian's `bubblewrap`), the sandbox pull-request previews run in
# (automation/pulumi/sandbox.ts); the service refuses to turn webhooks on without it.
# Idempotent: does nothing when bwrap is on PATH. Prints its path on success.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" bwrap bubblewrap "the sandbox of pull-request previews"
