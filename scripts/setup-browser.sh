#!/usr/bin/env bash
# Provides the headless Chromium the dashboard test drives (test/automation/web.test.ts).
# Debian's package rather than playwright's download: the download needs the internet, the
# package comes from the distribution mirror CI machines already reach. Idempotent: does
# nothing when /usr/bin/chromium exists. Prints the browser's path on success.
set -euo pipefail

browser=/usr/bin/chromium
if [ -x "$browser" ]; then
  echo "$browser"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "setup-browser: $browser is missing and this user is not root and has no sudo;" >&2
  echo "  install it as root: apt-get install -y chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: $browser is missing and apt-get is not available; install Chromium" >&2
  echo "  with your system's package manager so that $browser exists" >&2
  exit 1
fi

echo "setup-browser: installing chromium with apt-get (a few minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium; } >&2; then
  echo "setup-browser: apt-get could not install chromium; check the package mirror, or run" >&2
  echo "  as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
if [ ! -x "$browser" ]; then
  echo "setup-browser: chromium installed but $browser is missing; the dashboard test expects it there" >&2
  exit 1
fi
echo "$browser"
