#!/usr/bin/env bash
# Provides the headless Chromium the dashboard test drives (test/automation/web.test.ts).
# Debian's package rather than playwright's download: the download needs the internet, the
# package comes from the distribution mirror CI machines already reach. Idempotent: does
# nothing when /usr/bin/chromium exists. Prints the browser's path on success.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" /usr/bin/chromium chromium "the dashboard test's browser"
