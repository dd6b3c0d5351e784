#!/usr/bin/env bash
# Installs the linters the test suite runs on CI files, into a cache outside the repository so
# node_modules and the tree stay free of binaries. Reuses what is already there; prints the
# directory holding the tools (put it on PATH or pass it to the tests as TODOBACKEND_TOOLS_BIN).
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.7}"
TOOLS_BIN="${TODOBACKEND_TOOLS_BIN:-$HOME/.cache/todobackend-tools/bin}"
mkdir -p "$TOOLS_BIN"

# The version is part of the file name so bumping the pin installs the new one next to the old.
pinned="$TOOLS_BIN/actionlint-$ACTIONLINT_VERSION"
if [ ! -x "$pinned" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
  mv "$tmp/actionlint" "$pinned"
fi
ln -sf "$pinned" "$TOOLS_BIN/actionlint"

# shellcheck lets actionlint check the `run:` scripts too; optional, Debian has it.
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq shellcheck >/dev/null 2>&1 || echo "setup-tools: shellcheck not installed (optional)" >&2
fi

echo "$TOOLS_BIN"
