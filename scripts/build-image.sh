#!/usr/bin/env bash
# Builds the automation service's container image (images/Dockerfile.automation) with podman, from
# Debian packages and npm alone: no registry here serves base images, so the base is made with
# mmdebstrap. Prints the image's name on stdout; progress and timings go to stderr.
#
#   bash scripts/build-image.sh                 # builds localhost/todobackend-automation:latest
#   IMAGE=registry.example.com/automation:1 bash scripts/build-image.sh
#   IMAGE_LAYER_CACHE=false bash scripts/build-image.sh   # leaves no intermediate images behind
#   bash scripts/build-image.sh --context-only  # stages the build context, prints its directory
#                                               # (for `docker build`, docs/image.md)
#
# Everything it keeps lives outside the repository, in $TODOBACKEND_IMAGE_CACHE
# (default ~/.cache/todobackend-image):
#   base-<suite>.tar   the Debian base (minbase + ca-certificates + this machine's extra CAs),
#                      built once; delete it to rebuild (a new CA, security updates)
#   containers.conf    podman settings this machine needs (below), used unless CONTAINERS_CONF is set
#   context/           the build context: the service's sources and the cached Pulumi CLI
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

IMAGE="${IMAGE:-localhost/todobackend-automation:latest}"
CACHE="${TODOBACKEND_IMAGE_CACHE:-$HOME/.cache/todobackend-image}"
# The base follows this machine's Debian release, so its packages match what the tests run on.
# shellcheck disable=SC1091
SUITE="${DEBIAN_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")}"
SUITE="${SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
BASE_TAR="$CACHE/base-$SUITE.tar"
BASE_IMAGE="localhost/todobackend-base:$SUITE"
CONTEXT="$CACHE/context"
log() { echo "build-image: $*" >&2; }
context_only=false
[ "${1:-}" = "--context-only" ] && context_only=true

mkdir -p "$CACHE"

# The build context: the service's sources as they are in this checkout (tracked files and new
# ones git does not ignore; never node_modules or state), and the Pulumi CLI directory that
# scripts/setup-pulumi.sh keeps (built from the Go modules here: staging it saves the image a
# ten-minute Go build and any download).
stage_context() {
  rm -rf "$CONTEXT"
  mkdir -p "$CONTEXT/src" "$CONTEXT/pulumi"
  git -C "$REPO" ls-files -z --cached --others --exclude-standard -- \
      package.json package-lock.json tsconfig.json images/tsconfig.automation.json automation scripts/token.ts |
    (cd "$REPO" && xargs -0 cp --parents -t "$CONTEXT/src")
  local bin
  bin="$(bash scripts/setup-pulumi.sh)"
  cp "$bin"/pulumi "$bin"/pulumi-language-nodejs "$bin"/pulumi-analyzer-policy "$bin"/pulumi-resource-pulumi-nodejs "$CONTEXT/pulumi/"
  cp images/Dockerfile.automation "$CONTEXT/Dockerfile"
}

if $context_only; then
  stage_context
  echo "$CONTEXT"
  exit 0
fi

bash scripts/apt-install.sh podman podman "building the automation image" >/dev/null
bash scripts/apt-install.sh mmdebstrap mmdebstrap "the automation image's Debian base" >/dev/null

# Podman here: crun refuses this machine's hybrid cgroups, so runc; and the default ulimits
# (nofile 1048576) exceed this machine's hard limits, which runc may not raise: the hard limits
# of this shell are used instead (nproc lower still: the limit counts every process of the uid).
if [ -z "${CONTAINERS_CONF:-}" ]; then
  bash scripts/apt-install.sh runc runc "podman's runtime on this machine" >/dev/null
  export CONTAINERS_CONF="$CACHE/containers.conf"
  nofile="$(ulimit -Hn)"
  [ "$nofile" = unlimited ] && nofile=1048576
  cat > "$CONTAINERS_CONF" <<CONF
# Written by scripts/build-image.sh (todobackend-infra): podman settings this machine needs.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
fi

if [ ! -s "$BASE_TAR" ]; then
  log "building the Debian $SUITE base with mmdebstrap into $BASE_TAR"
  start=$(date +%s)
  # The machine's extra CAs (a proxy's) go in, so apt and npm inside the build trust what this
  # machine trusts. Written beside the target and renamed: an interrupted run leaves no half tarball.
  cas=()
  [ -d /usr/local/share/ca-certificates ] && cas=(--customize-hook='copy-in /usr/local/share/ca-certificates /usr/local/share')
  # Without manuals, translations and docs (copyrights kept); the setting stays in the base's
  # dpkg configuration, so the image's own apt-get installs leave them out too. The hooks' "$1"
  # (the new root) is mmdebstrap's to expand, not this shell's.
  # shellcheck disable=SC2016
  nice -n 10 mmdebstrap --quiet --format=tar --variant=minbase --include=ca-certificates "${cas[@]}" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$BASE_TAR.partial" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main"
  mv "$BASE_TAR.partial" "$BASE_TAR"
  podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
  log "base built in $(( $(date +%s) - start ))s"
fi
if ! podman image exists "$BASE_IMAGE"; then
  log "importing $BASE_TAR as $BASE_IMAGE"
  podman import --quiet --change 'CMD ["/bin/bash"]' "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi

stage_context
registry="$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)"
log "building $IMAGE"
start=$(date +%s)
# --format docker: the OCI format has no HEALTHCHECK. Proxy variables of this shell reach the
# build's RUN steps by podman's default (--http-proxy). IMAGE_LAYER_CACHE=false keeps no
# intermediate images (each build then runs every step; npm's cache mount still saves downloads).
nice -n 10 podman build --quiet --format docker --layers="${IMAGE_LAYER_CACHE:-true}" \
  --build-arg "BASE=$BASE_IMAGE" --build-arg "NPM_CONFIG_REGISTRY=$registry" \
  -f "$CONTEXT/Dockerfile" -t "$IMAGE" "$CONTEXT" >/dev/null
log "image built in $(( $(date +%s) - start ))s: $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
echo "$IMAGE"
