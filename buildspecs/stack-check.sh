#!/usr/bin/env bash
# Run by the deploy buildspecs before any pulumi command on a stack: its committed
# Pulumi.<stack>.yaml must name the secrets provider the delivery stack made and carry the stack's
# encrypted data key (scripts/bootstrap.sh writes both). The checkout has nothing else to tell
# the CLI which provider a stack uses: without them it falls back to the passphrase provider and
# fails "passphrase must be set", and `pulumi stack select --secrets-provider` does nothing for a
# stack that exists.
#   bash buildspecs/stack-check.sh <stack>     (PULUMI_SECRETS_PROVIDER: the project's, e.g. awskms://alias/todobackend-dev-pulumi?region=us-east-1)
set -euo pipefail
stack=${1:?usage: bash buildspecs/stack-check.sh <stack>}
file="Pulumi.$stack.yaml"
: "${PULUMI_SECRETS_PROVIDER:?PULUMI_SECRETS_PROVIDER is not set: the deploy projects of the delivery stack set it}"
[ -f "$file" ] || { echo "stack-check: $file does not exist in this checkout. Fix: run bash scripts/bootstrap.sh environments and commit it" >&2; exit 1; }
provider=$(sed -n 's/^secretsprovider:[[:space:]]*//p' "$file" | head -1)
if [ "$provider" != "$PULUMI_SECRETS_PROVIDER" ] || ! grep -q '^encryptedkey:' "$file"; then
  key=$(grep -q '^encryptedkey:' "$file" && echo "an encryptedkey" || echo "no encryptedkey")
  echo "stack-check: $file names the secrets provider \"${provider:-none}\" and has $key; the stack uses $PULUMI_SECRETS_PROVIDER." >&2
  echo "  Without both, pulumi falls back to the passphrase provider (\"passphrase must be set\")." >&2
  echo "  Fix: run bash scripts/bootstrap.sh environments (or pulumi stack change-secrets-provider $PULUMI_SECRETS_PROVIDER -s $stack) and commit $file" >&2
  exit 1
fi
