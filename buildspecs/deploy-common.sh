#!/usr/bin/env bash
# Shared by the deploy buildspecs: reads the image tag the Build stage wrote (the Fn::GetParam analogue).
set -euo pipefail
version_file="${CODEBUILD_SRC_DIR_ApplicationVersion:-.}/version.json"
jq -er '.Version' "$version_file"
