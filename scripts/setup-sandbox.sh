#!/usr/bin/env bash
# Provides bubblewrap (Debian's `bubblewrap`), the sandbox pull-request previews run in
# (automation/pulumi/sandbox.ts); the service refuses to turn webhooks on without it.
# Idempotent: does nothing when bwrap is on PATH and can make its namespaces. Prints its path.
#
# Ubuntu 23.10 and later (GitHub's ubuntu-24.04 runners among them) let only programs with an
# AppArmor profile allowing it create unprivileged user namespaces
# (kernel.apparmor_restrict_unprivileged_userns=1). Rather than turn that off for every program,
# bwrap alone is given such a profile, as Ubuntu's own docs suggest; this needs root or sudo.
set -euo pipefail
bwrap=$(bash "$(dirname "$0")/apt-install.sh" bwrap bubblewrap "the sandbox of pull-request previews")
works() { "$bwrap" --unshare-user --unshare-net --ro-bind / / true 2>/dev/null; }

if ! works; then
  restrict=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
  if [ -r "$restrict" ] && [ "$(cat "$restrict")" = 1 ] && command -v apparmor_parser >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
    profile=/etc/apparmor.d/todobackend-bwrap
    echo "setup-sandbox: AppArmor restricts user namespaces here; allowing them to $bwrap alone ($profile)" >&2
    printf 'abi <abi/4.0>,\ninclude <tunables/global>\n\n# Written by todobackend-infra scripts/setup-sandbox.sh: pull-request previews run in bwrap.\nprofile todobackend-bwrap %s flags=(unconfined) {\n  userns,\n}\n' "$(readlink -f "$bwrap")" \
      | "${sudo[@]}" tee "$profile" >/dev/null && "${sudo[@]}" apparmor_parser -r "$profile" \
      || echo "setup-sandbox: could not load $profile (needs root or sudo)" >&2
  fi
  if ! works; then
    echo "setup-sandbox: $bwrap cannot create user namespaces on this machine (a container without them," >&2
    echo "  or a kernel that forbids them); pull-request previews cannot run here, and their tests fail." >&2
    echo "  In a container: podman run --security-opt 'unmask=/proc/*' (docs/image.md)." >&2
  fi
fi
echo "$bwrap"
