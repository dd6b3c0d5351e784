// The account bootstrap (scripts/bootstrap.sh, docs/delivery.md) and the deploy buildspecs' use of
// the stacks' secrets provider, run with the real Pulumi CLI on file:// backends up to the point
// where AWS is needed. What stands in for what is named in each test: a file backend for the S3
// state bucket, an imported deployment for what `pulumi up -s delivery` would have made, the
// passphrase provider for KMS where a step must go past it. No AWS request leaves this machine:
// the SDK has no credentials and the EC2 metadata service is switched off.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.join(__dirname, "..");
const KMS = "awskms://alias/todobackend-pulumi";
/** Each environment's own secrets provider, as the delivery stack outputs them (secretsProviders), the region in the URL. */
const KMS_OF = (env: string) => `awskms://alias/todobackend-${env}-pulumi?region=us-east-1`;
/** The shape of a KMS-encrypted data key as `stack init --secrets-provider awskms://…` writes it; KMS is never asked here. */
const ENCRYPTED_KEY = "AQICAHhmb2NrZWQta21zLWRhdGEta2V5LWNpcGhlcnRleHQ=";

let cliDir: string;
const made: string[] = [];

/** A copy of the repository's stack files and scripts, with the program linked in: the tests never write the tracked files. */
function repoCopy(): { dir: string; home: string } {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-"));
    made.push(base);
    const dir = path.join(base, "repo");
    const home = path.join(base, "home");
    fs.mkdirSync(path.join(dir, "scripts"), { recursive: true });
    fs.mkdirSync(path.join(dir, "buildspecs"));
    fs.mkdirSync(home);
    for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.\w+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.copyFileSync(path.join(ROOT, "scripts", "bootstrap.sh"), path.join(dir, "scripts", "bootstrap.sh"));
    for (const f of fs.readdirSync(path.join(ROOT, "buildspecs"))) fs.copyFileSync(path.join(ROOT, "buildspecs", f), path.join(dir, "buildspecs", f));
    for (const d of ["infra", "node_modules", "package.json", "tsconfig.json", "images", "policy"]) fs.symlinkSync(path.join(ROOT, d), path.join(dir, d));
    return { dir, home };
}

function environment(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        PATH: `${cliDir}:${path.join(ROOT, "node_modules", ".bin")}:/usr/bin:/bin`, HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_HOME: path.join(home, ".pulumi"),
        // The CLI and program may ask AWS, but have nothing to ask with: no credentials, no metadata service.
        AWS_EC2_METADATA_DISABLED: "true", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent", AWS_CONFIG_FILE: "/nonexistent", AWS_REGION: "us-east-1",
        ...(process.env.TEST_RUN_TAG ? { TEST_RUN_TAG: process.env.TEST_RUN_TAG } : {}),
        ...extra,
    };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
    const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 180_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A stack on `backend` whose state holds `outputs` (what an update on AWS leaves). */
function importStack(repo: string, env: NodeJS.ProcessEnv, backend: string, stack: string, outputs: Record<string, unknown>) {
    fs.mkdirSync(backend.replace(/^file:\/\//, ""), { recursive: true });
    const pulumi = (...args: string[]) => execFileSync("pulumi", args, { cwd: repo, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    pulumi("login", backend);
    const exists = spawnSync("pulumi", ["stack", "select", stack], { cwd: repo, env }).status === 0;
    if (!exists) pulumi("stack", "init", stack, "--no-select");
    const deployment = JSON.parse(pulumi("stack", "export", "-s", stack));
    deployment.deployment.resources = [{ urn: `urn:pulumi:${stack}::todobackend::pulumi:pulumi:Stack::todobackend-${stack}`, custom: false,
        type: "pulumi:pulumi:Stack", outputs }];
    const file = path.join(path.dirname(repo), `${stack}.json`);
    fs.writeFileSync(file, JSON.stringify(deployment));
    pulumi("stack", "import", "-s", stack, "--file", file);
}

/**
 * A stack created with the KMS provider, as `stack init --secrets-provider awskms://…` leaves it in
 * the bucket: its checkpoint names the provider and the encrypted data key (written into the
 * state file directly, since importing it would ask KMS).
 */
function kmsStack(repo: string, env: NodeJS.ProcessEnv, bucket: string, stack: string) {
    importStack(repo, { ...env, PULUMI_CONFIG_PASSPHRASE: "only-to-create-the-stand-in" }, bucket, stack, {});
    const file = path.join(bucket.replace(/^file:\/\//, ""), ".pulumi", "stacks", "todobackend", `${stack}.json`);
    const state = JSON.parse(fs.readFileSync(file, "utf8"));
    state.checkpoint.latest.secrets_providers = { type: "cloud", state: { url: KMS, encryptedkey: ENCRYPTED_KEY } };
    fs.writeFileSync(file, JSON.stringify(state));
}

describe("the account bootstrap and the stacks' secrets provider, with the real Pulumi CLI on file backends", function () {
    this.timeout(240_000);
    before(() => {
        cliDir = execFileSync("bash", [path.join(ROOT, "scripts", "setup-pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    });
    after(() => {
        for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reproduces the pipeline's first Dev run: a stack file without its provider sends the CLI to the passphrase provider, --secrets-provider on stack select notwithstanding", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_SECRETS_PROVIDER: KMS });
        const bucket = `file://${path.join(home, "bucket")}`;
        // dev as the earlier bootstrap left it: made with the KMS provider (the state says so), its stack file never committed.
        kmsStack(dir, env, bucket, "dev");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml")));
        // The earlier deploy-dev.yml's commands, as CodeBuild ran them.
        const script = [`pulumi login "${bucket}"`, 'pulumi stack select dev --secrets-provider "$PULUMI_SECRETS_PROVIDER"',
            "pulumi config set todobackend:imageTag abc123.1 -s dev", "pulumi up -s dev --yes --non-interactive"].join(" && ");
        const r = run("bash", ["-c", script], dir, env);
        assert.notEqual(r.code, 0);
        assert.match(r.out, /passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8"), /secretsprovider/, "stack select --secrets-provider wrote nothing");
    });

    it("runs deploy-dev.yml past its secrets provider to KMS, where AWS is needed, once the stack file names it as the bootstrap writes it", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_SECRETS_PROVIDER: KMS });
        const bucket = `file://${path.join(home, "bucket")}`;
        kmsStack(dir, env, bucket, "dev");
        const version = path.join(home, "ApplicationVersion");
        fs.mkdirSync(version);
        fs.writeFileSync(path.join(version, "version.json"), '{"Version": "abc123.1"}');
        const commands = (parse(fs.readFileSync(path.join(dir, "buildspecs", "deploy-dev.yml"), "utf8")).phases.build.commands as string[])
            .filter((c) => !c.includes("rollout-check")).map((c) => c.replace("--policy-pack policy", ""));
        const deploy = () => run("bash", ["-c", ["set -e", ...commands].join("\n")], dir, { ...env, PULUMI_BACKEND_URL: bucket, CODEBUILD_SRC_DIR_ApplicationVersion: version });

        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml")));
        const refused = deploy();
        assert.equal(refused.code, 1);
        assert.match(refused.out, /stack-check: Pulumi\.dev\.yaml names the secrets provider "none" and has no encryptedkey.*\n.*passphrase must be set.*\n.*Fix: run bash scripts\/bootstrap\.sh environments/);

        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `secretsprovider: ${KMS}\nencryptedkey: ${ENCRYPTED_KEY}\n${fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")}`);
        const r = deploy();
        assert.notEqual(r.code, 0);
        assert.match(r.out, /operation error KMS: Decrypt, get identity: get credentials/, "stops where AWS is needed");
        assert.doesNotMatch(r.out, /passphrase must be set/);
    });

    it("refuses to create the delivery stack without a passphrase for its own backend, naming the variable", () => {
        const { dir, home } = repoCopy();
        const r = run("bash", ["scripts/bootstrap.sh", "delivery", "--yes"], dir, environment(home));
        assert.equal(r.code, 1);
        assert.match(r.out, /none is set\. Fix: export PULUMI_CONFIG_PASSPHRASE_FILE=/);
        assert.equal(fs.existsSync(path.join(home, ".pulumi-delivery")), false, "nothing created");
    });

    it("creates the delivery stack on its own file backend and stops at pulumi up, where the AWS provider (and AWS) is needed", () => {
        const { dir, home } = repoCopy();
        const r = run("bash", ["scripts/bootstrap.sh", "delivery", "--yes"], dir, environment(home, { PULUMI_CONFIG_PASSPHRASE: "delivery-pass" }));
        assert.notEqual(r.code, 0);
        assert.match(r.out, /Created stack 'delivery'/);
        assert.match(r.out, /no resource plugin 'pulumi-resource-aws' found/);
        assert.ok(fs.existsSync(path.join(home, ".pulumi-delivery", ".pulumi", "stacks", "todobackend", "delivery.json")));
        assert.match(fs.readFileSync(path.join(dir, "Pulumi.delivery.yaml"), "utf8"), /^encryptionsalt: v1:/m);
    });

    it("moves the delivery stack into its state bucket and creates dev and prod there with its secrets provider, written into their stack files (a file backend for the bucket, passphrase for KMS, an imported deployment for up)", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_CONFIG_PASSPHRASE: "pass" });
        const bucket = `file://${path.join(home, "bucket")}`;
        importStack(dir, env, `file://${path.join(home, ".pulumi-delivery")}`, "delivery",
            { stateBucketUrl: bucket, secretsProvider: "passphrase", secretsProviders: { dev: "passphrase", prod: "passphrase" }, pipelineName: "todobackend" });
        const r = run("bash", ["scripts/bootstrap.sh", "environments"], dir, env);
        assert.equal(r.code, 0, r.out);
        const pulumi = (...args: string[]) => execFileSync("pulumi", args, { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        pulumi("login", bucket);
        assert.deepEqual((JSON.parse(pulumi("stack", "ls", "--json")) as Array<{ name: string }>).map((s) => s.name).sort(), ["delivery", "dev", "prod"]);
        assert.equal(JSON.parse(pulumi("stack", "output", "-s", "delivery", "--json")).pipelineName, "todobackend", "the delivery stack's state moved with it");
        for (const stack of ["dev", "prod"]) {
            const file = parse(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8"));
            assert.match(file.encryptionsalt, /^v1:/, `Pulumi.${stack}.yaml carries the stack's key`);
            assert.equal(file.config["todobackend:deliveryStack"], "organization/todobackend/delivery", "the committed config is kept");
        }
        assert.match(r.out, /Commit the stack files/);
        assert.match(r.out, /prod has no pinned AMI yet .*: bash scripts\/bootstrap\.sh pin-ami prod/);
        assert.match(r.out, /prod has no certificate yet .*: pulumi config set todobackend:certificateArn <the ACM certificate ARN of the app's domain> -s prod/);
        const again = run("bash", ["scripts/bootstrap.sh", "environments"], dir, env);
        assert.equal(again.code, 0, again.out);
        assert.match(again.out, /stack dev exists on .*: left as it is/);
    });

    it("creates each environment stack with its own secrets provider, the region in its URL, up to KMS (a file backend for the bucket; AWS_REGION unset; stand-in credentials and a refusing local proxy, so no request leaves)", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_CONFIG_PASSPHRASE: "pass", AWS_ACCESS_KEY_ID: "AKIASTANDIN000000000", AWS_SECRET_ACCESS_KEY: "stand-in",
            HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" });
        delete env.AWS_REGION;
        // The delivery stack moved with the passphrase provider (so the move needs no KMS), dev and prod with their own keys.
        importStack(dir, env, `file://${path.join(home, ".pulumi-delivery")}`, "delivery",
            { stateBucketUrl: `file://${path.join(home, "bucket")}`, secretsProvider: "passphrase", secretsProviders: { dev: KMS_OF("dev"), prod: KMS_OF("prod") } });
        const r = run("bash", ["scripts/bootstrap.sh", "environments"], dir, env);
        assert.notEqual(r.code, 0);
        assert.match(r.out, /2\/2 environment stacks on file:.*\n.*stack dev: secrets provider awskms:\/\/alias\/todobackend-dev-pulumi\?region=us-east-1/);
        // KMS is asked in the URL's region (the request stops at the local proxy).
        assert.match(r.out, /operation error KMS: Encrypt, .*Post "https:\/\/kms\.us-east-1\.amazonaws\.com\/": proxyconnect/);
        // The control: the same provider without ?region= fails before any request, as the earlier outputs did.
        const bare = run("pulumi", ["stack", "init", "bare", "--secrets-provider", "awskms://alias/todobackend-dev-pulumi"], dir, env);
        assert.match(bare.out, /failed to resolve service endpoint, endpoint rule error, Invalid Configuration: Missing Region/);
    });

    it("refuses to move the delivery stack without the passphrase of its own backend, before anything exists in the bucket", () => {
        const { dir, home } = repoCopy();
        const bucket = path.join(home, "bucket");
        importStack(dir, environment(home, { PULUMI_CONFIG_PASSPHRASE: "pass" }), `file://${path.join(home, ".pulumi-delivery")}`, "delivery",
            { stateBucketUrl: `file://${bucket}`, secretsProvider: "passphrase", secretsProviders: { dev: "passphrase", prod: "passphrase" } });
        const r = run("bash", ["scripts/bootstrap.sh", "environments"], dir, environment(home));
        assert.equal(r.code, 1);
        assert.match(r.out, /the delivery stack's own backend keeps its secrets with a passphrase, and none is set\. Fix: export PULUMI_CONFIG_PASSPHRASE_FILE=/);
        assert.equal(fs.existsSync(path.join(bucket, ".pulumi")), false, "nothing created in the bucket");
    });

    it("refuses to update the stale local copy of the delivery stack once it moved into its state bucket, naming where it lives now", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_CONFIG_PASSPHRASE: "pass" });
        const bucket = `file://${path.join(home, "bucket")}`;
        importStack(dir, env, `file://${path.join(home, ".pulumi-delivery")}`, "delivery",
            { stateBucketUrl: bucket, secretsProvider: "passphrase", secretsProviders: { dev: "passphrase", prod: "passphrase" } });
        assert.equal(run("bash", ["scripts/bootstrap.sh", "environments"], dir, env).code, 0);
        const local = path.join(home, ".pulumi-delivery", ".pulumi", "stacks", "todobackend", "delivery.json");
        const before = fs.readFileSync(local, "utf8");
        const r = run("bash", ["scripts/bootstrap.sh", "delivery", "--yes"], dir, env);
        assert.equal(r.code, 1);
        assert.match(r.out, new RegExp(`the delivery stack now lives in ${bucket.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}.*Fix: PULUMI_BACKEND_URL=`));
        assert.doesNotMatch(r.out, /Previewing update|no resource plugin/, "no update of the local copy was started");
        assert.equal(fs.readFileSync(local, "utf8"), before);
    });

    it("pins prod's AMI only from AWS's answer: without the AWS CLI it stops, naming the fix", () => {
        const { dir, home } = repoCopy();
        const r = run("bash", ["scripts/bootstrap.sh", "pin-ami", "prod"], dir, environment(home));
        assert.equal(r.code, 1);
        assert.match(r.out, /the AWS CLI is needed to read the current ECS AMI .*Fix: install it, or run pulumi config set todobackend:amiId <ami-id> -s prod/);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"), /^  todobackend:amiId:/m);
    });

    it("moves the delivery stack with the KMS provider it made up to KMS, where AWS is needed", () => {
        const { dir, home } = repoCopy();
        const env = environment(home, { PULUMI_CONFIG_PASSPHRASE: "pass" });
        importStack(dir, env, `file://${path.join(home, ".pulumi-delivery")}`, "delivery",
            { stateBucketUrl: `file://${path.join(home, "bucket")}`, secretsProvider: KMS, secretsProviders: { dev: KMS_OF("dev"), prod: KMS_OF("prod") } });
        const r = run("bash", ["scripts/bootstrap.sh", "environments"], dir, env);
        assert.notEqual(r.code, 0);
        assert.match(r.out, /1\/2 delivery stack into file:.* \(secrets: awskms:\/\/alias\/todobackend-pulumi\)/);
        assert.match(r.out, /operation error KMS: (Encrypt|GenerateDataKey)/);
    });
});
