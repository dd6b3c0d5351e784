#!/usr/bin/env bash
# The one-time bootstrap of an AWS account (docs/delivery.md, "Bootstrap"), in two runs around
# the one manual step:
#
#   bash scripts/bootstrap.sh delivery [--yes]
#       1. creates the delivery stack on a backend of its own (its state cannot live in the bucket
#          it creates): BOOTSTRAP_BACKEND, default file://$HOME/.pulumi-delivery, secrets with a
#          passphrase (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE), and runs
#          `pulumi up -s delivery` (needs AWS credentials and Docker).
#   (activate the CodeStar connection in the console: the stack output connectionActivation)
#   bash scripts/bootstrap.sh pin-ami prod
#       4. pins the current ECS-optimised AL2023 AMI in Pulumi.prod.yaml (todobackend:amiId, which a
#          production stack requires), with the AWS CLI; run it again to bump the AMI, and have the
#          change reviewed like any other (its preview shows the instance refresh).
#   bash scripts/bootstrap.sh environments
#       2. moves the delivery stack into the state bucket it made (its output stateBucketUrl), with
#          the KMS secrets provider it made for itself (its output secretsProvider), where the
#          environment stacks' StackReference finds it (needs the passphrase of step 1 to export it);
#       3. creates dev and prod there, each with its own KMS secrets provider (its output
#          secretsProviders: alias/todobackend-dev-pulumi, -prod-, so the roles of one environment
#          cannot open the other's secrets), which writes `secretsprovider`
#          and `encryptedkey` into Pulumi.<stack>.yaml. Commit those files: the pipeline's
#          checkout has nothing else to tell the CLI which provider a stack uses, and without it
#          the CLI falls back to the passphrase provider ("passphrase must be set";
#          `pulumi stack select --secrets-provider` does nothing for an existing stack).
#
# Run from anywhere; it works on the repository it lives in. Safe to run again: a step whose
# result is already there is skipped. Once `environments` has moved the delivery stack, it is
# updated in the bucket (`delivery` refuses to update the copy it left on BOOTSTRAP_BACKEND).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=todobackend
ENVIRONMENTS=(dev prod)
BOOTSTRAP_BACKEND="${BOOTSTRAP_BACKEND:-file://$HOME/.pulumi-delivery}"

say() { echo "bootstrap: $*" >&2; }
die() { echo "bootstrap: $*" >&2; exit 1; }

command -v pulumi >/dev/null 2>&1 || die "no pulumi on PATH. Fix: install the Pulumi CLI (https://www.pulumi.com/docs/install/), v3.259.0 or later"

# The provider a stack file names, and whether its data key is there too (a passphrase stack has
# encryptionsalt instead).
stack_file_provider() {
  local file="Pulumi.$1.yaml"
  [ -f "$file" ] || { echo ""; return; }
  sed -n 's/^secretsprovider:[[:space:]]*//p' "$file" | head -1
}
stack_file_has_key() {
  grep -qE '^(encryptedkey|encryptionsalt):' "Pulumi.$1.yaml" 2>/dev/null
}

login() {
  case "$1" in
    file://*) mkdir -p "${1#file://}" ;;
  esac
  pulumi login "$1" >&2
}

has_stack() {
  pulumi stack ls --json 2>/dev/null | node -e '
    const [name] = process.argv.slice(1); let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
      const stacks = JSON.parse(s || "[]"); process.exit(stacks.some((x) => x.name === name || x.name.endsWith(`/${name}`)) ? 0 : 1); });' "$1"
}

# The delivery stack's own backend keeps its secrets with a passphrase: creating, updating and
# exporting it (--show-secrets) all need it.
need_passphrase() {
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    die "the delivery stack's own backend keeps its secrets with a passphrase, and none is set. Fix: export PULUMI_CONFIG_PASSPHRASE_FILE=<a file holding a passphrase you keep> (or PULUMI_CONFIG_PASSPHRASE)"
  fi
}

# An output of the delivery stack on the current backend ("" when it has none); with a second
# argument, that key of a map output.
delivery_output() {
  pulumi stack output "$1" --json -s delivery 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => { let v; try { v = JSON.parse(s); } catch { v = ""; }
      const key = process.argv[1]; if (key) v = v && typeof v === "object" ? v[key] : "";
      process.stdout.write(typeof v === "string" ? v : ""); });' "${2:-}"
}

delivery() {
  local yes=()
  [ "${1:-}" = "--yes" ] && yes=(--yes)
  need_passphrase
  say "1/1 delivery stack on $BOOTSTRAP_BACKEND"
  login "$BOOTSTRAP_BACKEND"
  if has_stack delivery; then
    # After `environments` the stack lives in its state bucket, where the pipeline's roles read it;
    # the copy left here is stale, and updating it would change AWS behind the real one's back.
    local moved listed
    moved=$(delivery_output stateBucketUrl)
    if [ -n "$moved" ]; then
      listed=$(PULUMI_BACKEND_URL="$moved" pulumi stack ls --json 2>&1) ||
        die "cannot list the stacks in $moved to see whether the delivery stack moved there ($listed). Fix: make AWS credentials available and run this again"
      if printf '%s' "$listed" | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => process.exit(JSON.parse(s || "[]").some((x) => /(^|\/)delivery$/.test(x.name)) ? 0 : 1));'; then
        die "the delivery stack now lives in $moved (bash scripts/bootstrap.sh environments moved it); the one on $BOOTSTRAP_BACKEND is a stale copy. Fix: PULUMI_BACKEND_URL=$moved pulumi up -s delivery"
      fi
    fi
    say "stack delivery exists on $BOOTSTRAP_BACKEND: updating it"
  else
    pulumi stack init delivery --secrets-provider passphrase >&2
  fi
  pulumi up -s delivery "${yes[@]}" >&2
  say "next: activate the CodeStar connection once ($(pulumi stack output connectionActivation -s delivery 2>/dev/null || echo 'stack output connectionActivation')),"
  say "      then run: bash scripts/bootstrap.sh environments"
}

environments() {
  need_passphrase
  login "$BOOTSTRAP_BACKEND"
  has_stack delivery || die "no delivery stack on $BOOTSTRAP_BACKEND. Fix: run bash scripts/bootstrap.sh delivery first (or set BOOTSTRAP_BACKEND to where it is)"
  local url kms
  url=$(delivery_output stateBucketUrl)
  kms=$(delivery_output secretsProvider)
  [ -n "$url" ] && [ -n "$kms" ] || die "the delivery stack has no outputs stateBucketUrl and secretsProvider: its pulumi up has not finished. Fix: bash scripts/bootstrap.sh delivery"

  local -A providers
  for stack in "${ENVIRONMENTS[@]}"; do
    providers[$stack]=$(delivery_output secretsProviders "$stack")
    [ -n "${providers[$stack]}" ] || die "the delivery stack has no output secretsProviders.$stack (the environment's own KMS key): it predates them. Fix: bash scripts/bootstrap.sh delivery, then run this again"
  done

  say "1/2 delivery stack into $url (secrets: $kms)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Secrets in plain text for the move only (mode 0600, removed on exit): the two backends encrypt
  # with different providers, and the import encrypts them again with the new one.
  (umask 077 && pulumi stack export -s delivery --show-secrets --file "$tmp/delivery.json" >&2)
  login "$url"
  if has_stack delivery; then
    say "stack delivery exists on $url: left as it is"
  else
    pulumi stack init delivery --secrets-provider "$kms" >&2
    pulumi stack import -s delivery --file "$tmp/delivery.json" >&2
  fi

  say "2/2 environment stacks on $url, each with its own secrets provider"
  for stack in "${ENVIRONMENTS[@]}"; do
    local own=${providers[$stack]}
    say "stack $stack: secrets provider $own"
    if has_stack "$stack"; then
      say "stack $stack exists on $url: left as it is"
    else
      pulumi stack init "$stack" --secrets-provider "$own" >&2
    fi
    local provider
    provider=$(stack_file_provider "$stack")
    # A passphrase stack names no provider (or "passphrase") and keeps a salt instead of a key.
    [ "$own" = "passphrase" ] && [ -z "$provider" ] && provider=passphrase
    if [ "$provider" != "$own" ] || ! stack_file_has_key "$stack"; then
      # Also a stack made when the environments shared one key: moving it re-encrypts its secrets.
      die "Pulumi.$stack.yaml does not name the secrets provider $own and its key (it names \"$provider\"). Fix: pulumi stack change-secrets-provider '$own' -s $stack, then run this again"
    fi
  done
  say "done. Commit the stack files, which now name each stack's secrets provider and carry its encrypted data key:"
  say "  git add Pulumi.delivery.yaml Pulumi.dev.yaml Pulumi.prod.yaml && git commit -m 'Stacks: secrets providers'"
  grep -q '^  todobackend:amiId:' Pulumi.prod.yaml || say "prod has no pinned AMI yet (a production stack requires one): bash scripts/bootstrap.sh pin-ami prod"
  grep -q '^  todobackend:certificateArn:' Pulumi.prod.yaml || say "prod has no certificate yet (a production stack serves HTTPS only): pulumi config set todobackend:certificateArn <the ACM certificate ARN of the app's domain> -s prod"
}

AMI_PARAMETER=/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id

pin_ami() {
  local stack=${1:-prod} region ami
  [ -f "Pulumi.$stack.yaml" ] || die "no Pulumi.$stack.yaml. Fix: name an environment stack (dev, prod)"
  command -v aws >/dev/null 2>&1 || die "the AWS CLI is needed to read the current ECS AMI ($AMI_PARAMETER). Fix: install it, or run pulumi config set todobackend:amiId <ami-id> -s $stack"
  region=$(pulumi config get aws:region -s "$stack" 2>/dev/null || sed -n 's/^  aws:region:[[:space:]]*//p' "Pulumi.$stack.yaml")
  ami=$(aws ssm get-parameter --region "$region" --name "$AMI_PARAMETER" --query Parameter.Value --output text)
  [[ "$ami" =~ ^ami-[0-9a-f]{8,17}$ ]] || die "SSM answered \"$ami\" for $AMI_PARAMETER, not an AMI id"
  pulumi config set todobackend:amiId "$ami" -s "$stack" >&2
  say "Pulumi.$stack.yaml now pins $ami; commit it for review (the preview shows the launch template's new version and the instance refresh)"
}

case "${1:-}" in
  delivery) shift; delivery "$@" ;;
  environments) environments ;;
  pin-ami) shift; pin_ami "$@" ;;
  *) echo "usage: bash scripts/bootstrap.sh delivery [--yes] | environments | pin-ami [stack]   (docs/delivery.md, Bootstrap)" >&2; exit 2 ;;
esac
