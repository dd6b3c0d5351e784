// End-to-end check of our pulumi-language-nodejs (tools/pulumi-language-nodejs) with the real
// Pulumi CLI on a throwaway file:// backend: a local TypeScript program with a dynamic
// resource and a secret, and a local policy pack that denies it.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";

const run = promisify(execFile);
const repo = path.resolve(__dirname, "../..");
const fixture = path.join(__dirname, "fixture");
const greeting = "hello from a secret";

interface Cli {
  bin: string;
  env: NodeJS.ProcessEnv;
  project: string;
  outFile: string;
  cleanup(): void;
}

// The project is copied under test/tools/.state (git-ignored) rather than os.tmpdir() so that
// node resolves @pulumi/pulumi from the repository's node_modules, as a real checkout would.
async function prepare(bin: string): Promise<Cli> {
  const stateRoot = path.join(__dirname, ".state");
  fs.mkdirSync(stateRoot, { recursive: true });
  const project = fs.mkdtempSync(path.join(stateRoot, "lh-"));
  fs.cpSync(fixture, project, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lh-backend-"));
  fs.mkdirSync(path.join(scratch, "state"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [bin, path.join(repo, "node_modules/.bin"), process.env.PATH].join(path.delimiter),
    PULUMI_BACKEND_URL: `file://${path.join(scratch, "state")}`,
    PULUMI_HOME: path.join(scratch, "home"),
    PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  return {
    bin,
    env,
    project,
    outFile: path.join(scratch, "greeting.txt"),
    cleanup() {
      fs.rmSync(project, { recursive: true, force: true });
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

async function pulumi(cli: Cli, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(path.join(cli.bin, "pulumi"), [...args, "--non-interactive"], {
    cwd: cli.project,
    env: { ...cli.env, ...extraEnv },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function initStack(cli: Cli): Promise<void> {
  await pulumi(cli, ["stack", "init", "dev"]);
  await pulumi(cli, ["config", "set", "outFile", cli.outFile]);
  await pulumi(cli, ["config", "set", "--secret", "greeting", greeting]);
}

describe("our Node.js language host with the real Pulumi CLI", function () {
  this.timeout(180_000);
  let bin: string;
  let cli: Cli;

  before(async function () {
    // Instant when cached; on a fresh machine this is the cold Go build of the CLI (~9 min).
    this.timeout(30 * 60_000);
    const { stdout } = await run("bash", [path.join(repo, "scripts/setup-pulumi.sh")], { cwd: repo });
    bin = stdout.trim();
  });

  beforeEach(async () => {
    cli = await prepare(bin);
    await initStack(cli);
  });

  afterEach(() => cli.cleanup());

  it("creates the file of a dynamic resource on up with the decrypted secret, keeps the secret encrypted in state, and deletes the file on destroy", async () => {
    await pulumi(cli, ["up", "--yes", "--skip-preview"]);
    assert.equal(fs.readFileSync(cli.outFile, "utf8"), greeting);

    const state = await pulumi(cli, ["stack", "export"]);
    assert.ok(!state.includes(greeting), "the secret config value must not appear in plaintext in the state");
    const outputs = JSON.parse(await pulumi(cli, ["stack", "output", "--json"])) as Record<string, unknown>;
    assert.deepEqual(outputs, { path: cli.outFile, stackName: "dev" });

    await pulumi(cli, ["destroy", "--yes", "--skip-preview"]);
    assert.equal(fs.existsSync(cli.outFile), false);
  });

  it("fails a preview whose resource violates a mandatory rule of a local TypeScript policy pack and names the rule", async () => {
    const preview = pulumi(cli, ["preview", "--policy-pack", path.join(cli.project, "policy")], {
      LH_FIXTURE_ALLOWED_DIR: "/nonexistent",
    });
    await assert.rejects(preview, (err: { stdout?: string }) => {
      assert.match(err.stdout ?? "", /\[mandatory\]\s+files-stay-in-allowed-dir/);
      assert.match(err.stdout ?? "", /is outside \/nonexistent/);
      return true;
    });
    assert.equal(fs.existsSync(cli.outFile), false);
  });

  it("previews the local program through the Automation API LocalWorkspace", async () => {
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(cli.bin) });
    const stack = await LocalWorkspace.selectStack(
      { stackName: "dev", workDir: cli.project },
      { pulumiCommand, envVars: cli.env as Record<string, string> },
    );
    const result = await stack.preview();
    assert.equal(result.changeSummary.create, 2);
    assert.equal(fs.existsSync(cli.outFile), false, "a preview must not run the provider's create");
  });
});
