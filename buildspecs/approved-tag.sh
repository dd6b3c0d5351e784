#!/usr/bin/env bash
# ExecuteChangeSet: prints the image tag of the approved prod preview, after checking that what it
# is about to apply is what was approved. The ChangeSetPlan artifact (tag.txt, plan.json) is
# written by the preview, which runs unreviewed code; so it is checked against what CodePipeline
# itself keeps from that run, the ChangeSet action's exported variables (APPROVED_APP_VERSION,
# APPROVED_PLAN_SHA256, set on this action by the pipeline), and against this build's checkout:
#   - tag.txt: line 1 the image tag, line 2 the commit of this repository the preview ran;
#   - that commit must be the one this build runs (CODEBUILD_RESOLVED_SOURCE_VERSION);
#   - the tag and plan.json's SHA-256 must be the ones the preview exported.
#   bash buildspecs/approved-tag.sh <ChangeSetPlan dir>
set -euo pipefail
dir=${1:?usage: bash buildspecs/approved-tag.sh <ChangeSetPlan artifact dir>}
refuse() { echo "approved-tag: $*. Refusing to update prod. Fix: re-run the pipeline, so that ChangeSet previews again and the new preview is approved" >&2; exit 1; }
[ -f "$dir/tag.txt" ] || refuse "$dir/tag.txt does not exist"
mapfile -t lines < "$dir/tag.txt"
tag=${lines[0]:-}
previewed=${lines[1]:-}
[ -n "$tag" ] || refuse "$dir/tag.txt holds no image tag"
[ -n "$previewed" ] || refuse "$dir/tag.txt does not say which commit the preview ran"
[ -n "${CODEBUILD_RESOLVED_SOURCE_VERSION:-}" ] || refuse "CODEBUILD_RESOLVED_SOURCE_VERSION is not set: this is not a pipeline build of the deployment repository"
[ "$previewed" = "$CODEBUILD_RESOLVED_SOURCE_VERSION" ] || refuse "the approved preview ran commit $previewed, this build checked out $CODEBUILD_RESOLVED_SOURCE_VERSION"
[ -n "${APPROVED_APP_VERSION:-}" ] && [ -n "${APPROVED_PLAN_SHA256:-}" ] || refuse "APPROVED_APP_VERSION and APPROVED_PLAN_SHA256 are not set: the pipeline passes them from the ChangeSet action's variables"
[ "$tag" = "$APPROVED_APP_VERSION" ] || refuse "tag.txt names $tag, the approved preview exported $APPROVED_APP_VERSION: the artifact was rewritten"
sha=$(sha256sum "$dir/plan.json" | cut -d' ' -f1)
[ "$sha" = "$APPROVED_PLAN_SHA256" ] || refuse "plan.json's SHA-256 is $sha, the approved preview's was $APPROVED_PLAN_SHA256: the artifact was rewritten"
printf '%s\n' "$tag"
