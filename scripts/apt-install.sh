#!/usr/bin/env bash
# Installs Debian package PACKAGE unless EXECUTABLE (a path, or a name on PATH) is already there,
# then prints the executable's path. EXECUTABLE `python3:MODULE` means Debian's Python 3 with
# MODULE importable (a driver the tests use), and prints /usr/bin/python3. Root installs directly; another user needs sudo without a
# password. Used by setup-browser.sh and setup-sandbox.sh.
#   bash scripts/apt-install.sh EXECUTABLE PACKAGE WHY
set -euo pipefail
exe=$1 package=$2 why=$3
found() {
  if [[ "$exe" == python3:* ]]; then /usr/bin/python3 -c "import ${exe#python3:}" 2>/dev/null && echo /usr/bin/python3
  elif [[ "$exe" == /* ]]; then [ -x "$exe" ] && echo "$exe"
  else command -v "$exe"; fi
}
if found; then exit 0; fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "apt-install: $exe ($why) is missing and this user is not root and has no sudo;" >&2
  echo "  install it as root: apt-get install -y $package" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: $exe ($why) is missing and apt-get is not available; install $package" >&2
  echo "  with your system's package manager" >&2
  exit 1
fi

echo "apt-install: installing $package with apt-get ($why)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$package"; } >&2; then
  echo "apt-install: apt-get could not install $package; check the package mirror, or run" >&2
  echo "  as root: apt-get update && apt-get install -y $package" >&2
  exit 1
fi
found || { echo "apt-install: $package installed but $exe is missing" >&2; exit 1; }
