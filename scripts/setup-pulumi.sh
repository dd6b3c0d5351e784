#!/usr/bin/env bash
# Makes the pinned Pulumi CLI and a Node.js language host available and prints the directory
# holding them.
#
# The CLI, in order of preference (cheapest first):
#   1. the cache:      $PULUMI_CLI_CACHE/<version>/bin (default ~/.pulumi/versions/<version>/bin,
#                      where PulumiCommand.install() would put it), reused when complete;
#   2. a `pulumi` of exactly this version on PATH, with its language host beside it;
#   3. the official installer, when get.pulumi.com is reachable (ships the official host);
#   4. a build from the Go modules with the local Go toolchain (no internet needed beyond the
#      Go module proxy): pkg/v3 at the tag.
# The language host: the official one when the CLI came with it (2, 3); otherwise our own,
# built from tools/pulumi-language-nodejs (the official module is not served by the Go proxy)
# and rebuilt whenever its sources change (a hash of them is stored beside the binary).
# Only the directory is printed on stdout; progress goes to stderr so callers can capture it.
set -euo pipefail

VERSION="${PULUMI_VERSION:-3.259.0}"
CACHE_ROOT="${PULUMI_CLI_CACHE:-$HOME/.pulumi/versions}"
BIN="$CACHE_ROOT/$VERSION/bin"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HOST_SRC="$REPO/tools/pulumi-language-nodejs"
HOST_STAMP="$BIN/.pulumi-language-nodejs.source-hash"
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
log() { echo "setup-pulumi: $*" >&2; }

# Scripts the official tarball ships; a Go build has to provide them itself. They run the
# dynamic-provider and policy-pack hosts of the @pulumi/pulumi package the program depends on.
write_plugin_scripts() {
  cat > "$1/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
exec node "$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" "$@"
SH
  cat > "$1/pulumi-analyzer-policy" <<'SH'
#!/bin/sh
exec node "$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))")" "$@"
SH
  chmod +x "$1/pulumi-resource-pulumi-nodejs" "$1/pulumi-analyzer-policy"
}

cli_ok() {
  [ -x "$1/pulumi" ] &&
    [ "$("$1/pulumi" version 2>/dev/null)" = "v$VERSION" ]
}

complete() {
  cli_ok "$1" && [ -x "$1/pulumi-language-nodejs" ]
}

# The version is part of the hash because it is linked into the binary.
host_source_hash() {
  (
    cd "$HOST_SRC"
    echo "$VERSION"
    find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) ! -name '*_test.go' -print0 |
      sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# Our host is (re)built when missing or when its stamp is stale. A host without a stamp came
# with the official CLI (installer or PATH) and is left alone.
ensure_language_host() {
  local want
  if [ -x "$BIN/pulumi-language-nodejs" ] && [ ! -f "$HOST_STAMP" ]; then
    return 0
  fi
  want="$(host_source_hash)"
  if [ -x "$BIN/pulumi-language-nodejs" ] && [ "$(cat "$HOST_STAMP")" = "$want" ]; then
    return 0
  fi
  command -v go >/dev/null || { log "no Go toolchain: cannot build the Node.js language host from $HOST_SRC"; exit 1; }
  log "building the Node.js language host from tools/pulumi-language-nodejs"
  local start=$(date +%s)
  # Build beside the target and rename, so a concurrent run never executes a partial binary.
  local tmp="$BIN/.pulumi-language-nodejs.$$"
  (cd "$HOST_SRC" && CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o "$tmp" .)
  mv -f "$tmp" "$BIN/pulumi-language-nodejs"
  echo "$want" > "$HOST_STAMP"
  log "built the language host in $(( $(date +%s) - start ))s"
}

finish() {
  [ -x "$BIN/pulumi-analyzer-policy" ] || write_plugin_scripts "$BIN"
  ensure_language_host
  echo "$BIN"; exit 0
}

mkdir -p "$BIN"

if cli_ok "$BIN"; then
  log "using cached Pulumi CLI v$VERSION in $BIN"
  finish
fi

onpath="$(command -v pulumi || true)"
if [ -n "$onpath" ] && complete "$(dirname "$onpath")"; then
  log "using Pulumi CLI v$VERSION from PATH ($onpath)"
  cp -f "$(dirname "$onpath")"/pulumi* "$BIN/"
  rm -f "$HOST_STAMP"
  finish
fi

if curl -fsS --max-time 5 -o /dev/null https://get.pulumi.com/ 2>/dev/null; then
  log "downloading Pulumi CLI v$VERSION with the official installer"
  tmp="$(mktemp -d)"
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$VERSION" --install-root "$tmp" --no-edit-path >&2
  cp -f "$tmp"/bin/* "$BIN/"
  rm -rf "$tmp"
  rm -f "$HOST_STAMP"
  finish
fi

command -v go >/dev/null || { log "no cached CLI, no internet and no Go toolchain: cannot provide Pulumi v$VERSION"; exit 1; }
log "building Pulumi CLI v$VERSION from Go modules (cold: about 10 minutes on 2 cores)"
start=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod CGO_ENABLED=0
cat > go.mod <<MOD
module pulumibuild

go 1.24

require (
	github.com/pulumi/pulumi/pkg/v3 v$VERSION
	github.com/pulumi/pulumi/sdk/v3 v$VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
GO
go get "github.com/pulumi/pulumi/pkg/v3@v$VERSION" "github.com/pulumi/pulumi/sdk/v3@v$VERSION" >&2
go mod tidy >&2
go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
log "built Pulumi CLI v$VERSION in $(( $(date +%s) - start ))s"
cd "$REPO"
unset GOFLAGS
finish
