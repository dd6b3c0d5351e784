#!/usr/bin/env bash
# Provides libfaketime (Debian's `faketime`), which the fault tests use to start a service
# instance whose clock is wrong (LD_PRELOAD, FAKETIME="+2h"): the real clock skew, not a
# stand-in `now()`. Idempotent. Prints the library's path.
set -euo pipefail
bash "$(dirname "$0")/apt-install.sh" faketime faketime "clock-skew fault tests" >/dev/null
lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
[ -n "$lib" ] && [ -f "$lib" ] || { echo "setup-faketime: libfaketime.so.1 not found after installing faketime" >&2; exit 1; }
echo "$lib"
