#!/usr/bin/env bash
# Makes the pinned Pulumi CLI available and prints the directory holding it.
#
# Order of preference (cheapest first):
#   1. the cache:      $PULUMI_CLI_CACHE/<version>/bin (default ~/.pulumi/versions/<version>/bin,
#                      where PulumiCommand.install() would put it), reused when complete;
#   2. a `pulumi` of exactly this version on PATH, with its language host beside it;
#   3. the official installer, when get.pulumi.com is reachable;
#   4. a build from the Go modules with the local Go toolchain (no internet needed beyond the
#      Go module proxy): pkg/v3 at the tag, the Node.js language host at the tag's commit.
# Only the directory is printed on stdout; progress goes to stderr so callers can capture it.
set -euo pipefail

VERSION="${PULUMI_VERSION:-3.259.0}"
CACHE_ROOT="${PULUMI_CLI_CACHE:-$HOME/.pulumi/versions}"
BIN="$CACHE_ROOT/$VERSION/bin"
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

complete() {
  [ -x "$1/pulumi" ] &&
    [ "$("$1/pulumi" version 2>/dev/null)" = "v$VERSION" ]
}

if complete "$BIN"; then
  [ -x "$BIN/pulumi-analyzer-policy" ] || write_plugin_scripts "$BIN"
  log "using cached Pulumi CLI v$VERSION in $BIN"
  echo "$BIN"; exit 0
fi

mkdir -p "$BIN"

onpath="$(command -v pulumi || true)"
if [ -n "$onpath" ] && complete "$(dirname "$onpath")"; then
  log "using Pulumi CLI v$VERSION from PATH ($onpath)"
  cp -f "$(dirname "$onpath")"/pulumi* "$BIN/"
  [ -x "$BIN/pulumi-analyzer-policy" ] || write_plugin_scripts "$BIN"
  echo "$BIN"; exit 0
fi

if curl -fsS --max-time 5 -o /dev/null https://get.pulumi.com/ 2>/dev/null; then
  log "downloading Pulumi CLI v$VERSION with the official installer"
  tmp="$(mktemp -d)"
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$VERSION" --install-root "$tmp" --no-edit-path >&2
  cp -f "$tmp"/bin/* "$BIN/"
  rm -rf "$tmp"
  echo "$BIN"; exit 0
fi

command -v go >/dev/null || { log "no cached CLI, no internet and no Go toolchain: cannot provide Pulumi v$VERSION"; exit 1; }
log "building Pulumi CLI v$VERSION from Go modules (cold: about 20 minutes on 2 cores)"
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
ld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
go build -trimpath -ldflags "$ld" -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
write_plugin_scripts "$BIN"
log "built Pulumi CLI v$VERSION in $(( $(date +%s) - start ))s"
echo "$BIN"
