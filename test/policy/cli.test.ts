// The packs under the real Pulumi CLI (built by scripts/setup-pulumi.sh, with our language host):
// the project's pack loads from the repository root as `--policy-pack policy` and serves its
// config schema; the automation fixture's pack blocks a preview with its message. No AWS
// provider exists offline, so the AWS policies themselves are covered by policies.test.ts.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = path.resolve(__dirname, "../..");

describe("policy packs under the real Pulumi CLI", function () {
    this.timeout(120_000);
    let bin: string;
    let project: string;
    let scratch: string;
    let env: NodeJS.ProcessEnv;

    // Pack paths resolve against the project directory (`--cwd`), as `policy` does in CI where the
    // project is the repository root.
    const pack = (dir: string) => path.relative(project, path.join(repo, dir));
    // Resolves to the CLI's stdout, or rejects with an error carrying stdout and stderr.
    const pulumi = (args: string[]) => run(path.join(bin, "pulumi"), [...args, "--non-interactive", "--cwd", project], {
        cwd: repo, env, maxBuffer: 16 * 1024 * 1024,
    }).then((r) => r.stdout);
    const failure = async (args: string[]): Promise<string> => {
        try {
            await pulumi(args);
        } catch (e) {
            const err = e as { stdout?: string; stderr?: string };
            return `${err.stdout ?? ""}${err.stderr ?? ""}`;
        }
        throw new Error(`pulumi ${args.join(" ")} succeeded but was expected to fail`);
    };

    before(async function () {
        // Instant when cached; a cold build of the CLI takes ~9 minutes.
        this.timeout(30 * 60_000);
        bin = (await run("bash", [path.join(repo, "scripts/setup-pulumi.sh")], { cwd: repo })).stdout.trim();
        // Under the repository so the program and packs resolve the repo's node_modules.
        const stateRoot = path.join(__dirname, ".state");
        fs.mkdirSync(stateRoot, { recursive: true });
        project = fs.mkdtempSync(path.join(stateRoot, "cli-"));
        fs.cpSync(path.join(__dirname, "fixture"), project, { recursive: true });
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-"));
        env = {
            ...process.env,
            PATH: [bin, path.join(repo, "node_modules/.bin"), process.env.PATH].join(path.delimiter),
            PULUMI_BACKEND_URL: `file://${scratch}`,
            PULUMI_HOME: path.join(scratch, ".home"),
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        await pulumi(["stack", "init", "dev"]);
    });

    after(() => {
        fs.rmSync(project, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("loads the project's pack by relative path and passes a stack without violations", async () => {
        await pulumi(["config", "set", "path", "greeting.txt"]);
        const out = await pulumi(["preview", "--policy-pack", pack("policy")]);
        assert.match(out, /✅ todobackend-policy@v0\.1\.0 \(local: [./]*policy\)/);
    });

    it("refuses a policy config that does not match the pack's schema, naming the policy", async () => {
        const configFile = path.join(scratch, "policy-config.json");
        fs.writeFileSync(configFile, JSON.stringify({ "no-public-ssh-rdp": { allowedCidrs: "203.0.113.0/24" } }));
        const out = await failure(["preview", "--policy-pack", pack("policy"), "--policy-pack-config", configFile]);
        assert.match(out, /no-public-ssh-rdp/);
        assert.match(out, /allowedCidrs: Invalid type\. Expected: array, given: string/);
    });

    it("fails the preview on the fixture pack's mandatory policy with its message", async () => {
        await pulumi(["config", "set", "path", "out/forbidden-report.txt"]);
        const out = await failure(["preview", "--policy-pack", pack("test/fixture/policy")]);
        assert.match(out, /\[mandatory\]\s+no-forbidden-files/);
        assert.match(out, /Stand-in 'standin' writes a file named forbidden-report\.txt/);
    });
});
