// The CI workflows are checked by a real linter (actionlint, with shellcheck for `run:` scripts
// when installed) and by what they must do: preview dev and prod with the policy pack on pull
// requests through OIDC, and update nothing: the pipeline is the one system that deploys on a push.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";

const run = promisify(execFile);
const repo = path.resolve(__dirname, "../..");
const workflowDir = path.join(repo, ".github/workflows");

async function actionlint(bin: string, files: string[]): Promise<{ code: number; output: string }> {
    try {
        const { stdout } = await run(path.join(bin, "actionlint"), ["-no-color", ...files], { cwd: repo });
        return { code: 0, output: stdout };
    } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return { code: err.code ?? -1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
}

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { if?: string; needs?: string | string[]; permissions?: Record<string, string>; strategy?: { matrix?: Record<string, unknown> }; steps: Step[] };

describe("GitHub Actions workflows", function () {
    let bin: string;
    const files = fs.readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(workflowDir, f));
    const workflow = parse(fs.readFileSync(path.join(workflowDir, "infra.yml"), "utf8")) as { on: Record<string, unknown>; jobs: Record<string, Job> };
    const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));

    before(async function () {
        // Instant when cached; a cold `go install` of actionlint takes about a minute.
        this.timeout(10 * 60_000);
        const { stdout } = await run("bash", [path.join(repo, "scripts/setup-tools.sh")], { cwd: repo });
        bin = stdout.trim().split("\n").pop() ?? "";
    });

    it("pass actionlint", async function () {
        this.timeout(60_000);
        const { code, output } = await actionlint(bin, files);
        assert.equal(code, 0, output);
    });

    it("would be rejected by actionlint if a job needed a missing job or misused an expression", async function () {
        this.timeout(60_000);
        const broken = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
        try {
            const file = path.join(broken, "broken.yml");
            fs.writeFileSync(file, "on: push\njobs:\n  a:\n    needs: nope\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.nope }}\n");
            const { code, output } = await actionlint(bin, [file]);
            assert.equal(code, 1, output);
            assert.match(output, /nope/);
        } finally {
            fs.rmSync(broken, { recursive: true, force: true });
        }
    });

    it("previews dev and prod with the policy pack on pull requests and comments the result", () => {
        assert.ok("pull_request" in workflow.on);
        const preview = workflow.jobs.preview;
        assert.deepEqual(preview.strategy?.matrix?.stack, ["dev", "prod"]);
        const step = pulumiStep(preview);
        assert.equal(step?.with?.command, "preview");
        assert.equal(step?.with?.policyPacks, "policy");
        assert.equal(step?.with?.["comment-on-pr"], true);
        assert.match(String(step?.with?.["cloud-url"]), /vars\.PULUMI_BACKEND_URL/);
    });

    it("assumes an AWS role through OIDC before previewing, with no stored keys", () => {
        const preview = workflow.jobs.preview;
        assert.equal(preview.permissions?.["id-token"], "write");
        const creds = preview.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        assert.ok(creds >= 0 && creds < preview.steps.indexOf(pulumiStep(preview)!));
        assert.match(String(preview.steps[creds].with?.["role-to-assume"]), /vars\./);
        assert.doesNotMatch(fs.readFileSync(path.join(workflowDir, "infra.yml"), "utf8"), /aws-access-key-id|AWS_SECRET_ACCESS_KEY/);
    });

    it("updates no stack: the pipeline is the one system that deploys dev on a push, and the service's dev policy leaves pushes to it", () => {
        const upJobs = Object.values(workflow.jobs).filter((j) => ["up", "update"].includes(String(pulumiStep(j)?.with?.command)));
        assert.deepEqual(upJobs, []);
        for (const stack of ["dev", "prod", "delivery"]) {
            const policy = parse(fs.readFileSync(path.join(repo, "environments", `${stack}.yaml`), "utf8")) as { github?: { updateOnPush?: boolean } };
            assert.equal(policy.github?.updateOnPush, false, `environments/${stack}.yaml`);
        }
    });

    it("previews after the offline policy check alone, not after the whole suite, and runs the policy tests once (in the suite)", () => {
        assert.equal(workflow.jobs.preview.needs, "policy");
        assert.match(workflow.jobs.policy.steps.map((s) => s.run ?? "").join("\n"), /policy:offline/);
        const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ""));
        assert.deepEqual(runs.filter((r) => /policy:test|npm test|mocha/.test(r)), [], "the suite (policy tests included) runs only through .ci/run");
        assert.deepEqual(runs.filter((r) => /\.ci\/run/.test(r)), ["bash .ci/run"]);
        assert.match(fs.readFileSync(path.join(repo, ".mocharc.json"), "utf8"), /test\/\*\*\/\*\.test\.ts/, "the suite's spec takes in test/policy");
    });

    it("gives bwrap the user namespaces GitHub's Ubuntu runners restrict, through setup (AppArmor profile for bwrap alone)", () => {
        const setup = fs.readFileSync(path.join(repo, "scripts/setup-sandbox.sh"), "utf8");
        assert.match(setup, /apparmor_restrict_unprivileged_userns/);
        assert.match(setup, /userns,/);
        assert.match(fs.readFileSync(path.join(repo, ".ci/run"), "utf8"), /npm run setup/);
    });

    it("checks dev, prod and delivery offline and fails the job when one of them fails (the step's script with a stand-in npm)", async () => {
        // Runs the step's script the way the runner does (bash -eo pipefail) with a stand-in npm
        // that records each call and fails for the stack named in FAIL_STACK.
        const step = workflow.jobs.policy.steps.find((s) => /policy:offline/.test(s.run ?? ""))!;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
        const log = path.join(dir, "calls");
        fs.writeFileSync(path.join(dir, "npm"), `#!/usr/bin/env bash\necho "$*" >> "${log}"\n[ "\${@: -1}" != "$FAIL_STACK" ]\n`, { mode: 0o755 });
        const script = (failStack: string) => run("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run!],
            { env: { PATH: `${dir}:${process.env.PATH}`, FAIL_STACK: failStack } }).then(() => 0, (e: { code?: number }) => e.code ?? -1);
        try {
            assert.equal(await script("none"), 0);
            assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ").at(-1)), ["dev", "prod", "delivery"]);
            fs.rmSync(log);
            assert.notEqual(await script("prod"), 0);
            assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ").at(-1)), ["dev", "prod"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
