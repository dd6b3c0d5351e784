#!/usr/bin/env bash
# Shared by the deploy buildspecs: reads the image tag the Build stage wrote (the Fn::GetParam analogue).
# Node rather than jq: the Pulumi Node.js image ships node but not jq.
set -euo pipefail
version_file="$(cd "${CODEBUILD_SRC_DIR_ApplicationVersion:-.}" && pwd)/version.json"
node -e 'const v = require(process.argv[1]).Version; if (typeof v !== "string" || v === "") { console.error("version.json has no Version"); process.exit(1); } console.log(v);' "$version_file"
