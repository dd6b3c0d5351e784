import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { parse } from "yaml";
// A plain script (no build step in the deploy image), so its shape is stated here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rollout = require("../buildspecs/rollout-check.js") as { checkRollout: (stack: string, deps?: Record<string, unknown>) => Promise<number> };

const dir = path.join(__dirname, "..", "buildspecs");
const spec = (f: string) => parse(fs.readFileSync(path.join(dir, f), "utf8"));

describe("app buildspec", () => {
    const s = spec("app-buildspec.yml");
    it("keeps the book's phases, make targets and version.json artifact", () => {
        assert.equal(s.version, 0.2);
        assert.deepEqual(Object.keys(s.phases), ["pre_build", "build", "post_build"]);
        assert.deepEqual(s.phases.build.commands, ["make test", "make release", "make publish", "make version > version.json"]);
        assert.deepEqual(s.phases.post_build.commands, ["make clean", "make logout"]);
        assert.deepEqual(s.artifacts.files, ["version.json"]);
    });
    it("starts dockerd with the default storage driver and waits with GNU timeout", () => {
        const pre: string[] = s.phases.pre_build.commands;
        assert.equal(pre[0], "nohup /usr/local/bin/dockerd --host=unix:///var/run/docker.sock &");
        assert.match(pre[1], /^timeout 15 /);
    });
    it("derives BUILD_ID and APP_VERSION from CodeBuild's variables", () => {
        const pre: string[] = s.phases.pre_build.commands;
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        const script = [pre[2], pre[3], 'echo "$APP_VERSION"'].join("\n");
        const out = execFileSync("bash", ["-c", script], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH,
            CODEBUILD_BUILD_ID: "todobackend-build:0f3c-11", CODEBUILD_RESOLVED_SOURCE_VERSION: "abc1234" } }).toString().trim();
        assert.equal(out, "abc1234.0f3c-11");
    });
    it("writes version.json with that APP_VERSION through the book's Makefile, without a .git directory", () => {
        // The book's Makefile lines (book §3.3): the env var must win over `git rev-parse`, which
        // fails in a CodePipeline source artifact.
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "Makefile"),
            "export APP_VERSION ?= $(shell git rev-parse --short HEAD)\nversion:\n\t@ echo '{\"Version\": \"$(APP_VERSION)\"}'\n");
        const pre: string[] = s.phases.pre_build.commands;
        const build: string[] = s.phases.build.commands;
        execFileSync("bash", ["-c", [pre[2], pre[3], build.at(-1)!].join("\n")], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH,
            CODEBUILD_BUILD_ID: "todobackend-build:0f3c-11", CODEBUILD_RESOLVED_SOURCE_VERSION: "abc1234" } });
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, "version.json"), "utf8")), { Version: "abc1234.0f3c-11" });
        assert.deepEqual(s.artifacts.files, ["version.json"]);
        // ...and the deploy jobs read back exactly that tag from the ApplicationVersion artifact.
        const tag = execFileSync("bash", [path.join(dir, "deploy-common.sh")], { stdio: ["ignore", "pipe", "pipe"],
            env: { PATH: process.env.PATH, CODEBUILD_SRC_DIR_ApplicationVersion: tmp } }).toString().trim();
        assert.equal(tag, "abc1234.0f3c-11");
    });
});

describe("deploy buildspecs", () => {
    it("run only programs the deploy image has (pulumi/pulumi-nodejs: bash, node, npm, pulumi, coreutils), never the aws CLI or jq (the image's contents as Pulumi documents them; not pulled here)", () => {
        const allowed = new Set(["export", "pulumi", "npm", "node", "bash", "set", "echo", "if", "cat", "tee", "test", "printf", "sha256sum", "cut"]);
        for (const file of ["deploy-dev.yml", "deploy-changeset.yml", "deploy-execute.yml"]) {
            const s = spec(file);
            const commands = [...s.phases.install.commands, ...s.phases.build.commands] as string[];
            const programs = commands.flatMap((c) => c.split(/;|&&|\|\||\||\$\(/).map((part) => part.trim().split(/\s+/)[0]).filter((w) => w && !w.includes("=") && w !== "then" && w !== "else" && w !== "fi"));
            assert.deepEqual(programs.filter((p) => !allowed.has(p)), [], file);
        }
        const code = ["deploy-common.sh", "stack-check.sh", "approved-tag.sh", "rollout-check.js", "plan-check.js"].flatMap((f) => fs.readFileSync(path.join(dir, f), "utf8").split("\n")
            .filter((l) => !/^\s*(\/\/|#|\*|\/\*)/.test(l)).map((l) => `${f}: ${l}`));
        assert.deepEqual(code.filter((l) => /(^|[\s("'`])(aws|jq)(["'`\s]|$)/.test(l.split(": ").slice(1).join(": "))), []);
        assert.match(fs.readFileSync(path.join(__dirname, "..", "images", "Dockerfile.deploy"), "utf8"), /^FROM pulumi\/pulumi-nodejs:\d+\.\d+\.\d+$/m);
    });
    it("reads the image tag from ApplicationVersion/version.json", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "version.json"), '{"Version": "abc1234.42"}');
        const out = execFileSync("bash", [path.join(dir, "deploy-common.sh")], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, CODEBUILD_SRC_DIR_ApplicationVersion: tmp } }).toString().trim();
        assert.equal(out, "abc1234.42");
    });
    it("fails instead of deploying an empty tag when version.json has no Version", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "version.json"), "{}");
        assert.throws(() => execFileSync("bash", [path.join(dir, "deploy-common.sh")], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, CODEBUILD_SRC_DIR_ApplicationVersion: tmp } }));
    });
    /**
     * The build phase's commands before `pulumi login`, run as CodeBuild runs a phase: one bash,
     * stopping at the first command whose exit status is not 0. A stand-in `pulumi` records whether it was reached.
     */
    const untilLogin = (file: string, env: Record<string, string>) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "pulumi"), `#!/usr/bin/env bash\necho "pulumi $*" >> ${tmp}/pulumi.log\n`, { mode: 0o755 });
        const c: string[] = spec(file).phases.build.commands;
        const before = c.slice(0, c.findIndex((x) => x.startsWith("pulumi login")) + 1);
        const script = [...before.map((x) => `${x}\nstatus=$?; [ $status -eq 0 ] || exit $status`), 'echo "tag=$APP_VERSION"'].join("\n");
        try {
            const out = execFileSync("bash", ["-c", script], { cwd: path.join(dir, ".."), stdio: ["ignore", "pipe", "pipe"], env: { PATH: `${tmp}:${process.env.PATH}`, ...env } }).toString();
            return { code: 0, out, reachedPulumi: fs.existsSync(path.join(tmp, "pulumi.log")) };
        } catch (e) {
            const err = e as { status: number; stdout: Buffer; stderr: Buffer };
            return { code: err.status, out: `${err.stdout}${err.stderr}`, reachedPulumi: fs.existsSync(path.join(tmp, "pulumi.log")) };
        }
    };
    it("fails the build, before any pulumi command, when the tag cannot be read, instead of deploying an empty tag (the old tag, green)", () => {
        const noVersion = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(noVersion, "version.json"), "{}");
        for (const file of ["deploy-dev.yml", "deploy-changeset.yml"]) {
            const r = untilLogin(file, { CODEBUILD_SRC_DIR_ApplicationVersion: noVersion });
            assert.notEqual(r.code, 0, `${file}: ${r.out}`);
            assert.match(r.out, /version\.json has no Version/, file);
            assert.equal(r.reachedPulumi, false, file);
        }
        const emptyPlan = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(emptyPlan, "tag.txt"), "");
        const r = untilLogin("deploy-execute.yml", { CODEBUILD_SRC_DIR_ChangeSetPlan: emptyPlan, CODEBUILD_RESOLVED_SOURCE_VERSION: "abc1234" });
        assert.notEqual(r.code, 0, r.out);
        assert.equal(r.reachedPulumi, false);
        // With a tag, the same commands go on to pulumi with it.
        const version = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(version, "version.json"), '{"Version": "abc1234.42"}');
        const ok = untilLogin("deploy-dev.yml", { CODEBUILD_SRC_DIR_ApplicationVersion: version });
        assert.equal(ok.code, 0, ok.out);
        assert.match(ok.out, /tag=abc1234\.42/);
    });
    it("take dev's and the prod preview's tag from version.json, and prod's update from the approved preview", () => {
        for (const file of ["deploy-dev.yml", "deploy-changeset.yml"]) {
            const c: string[] = spec(file).phases.build.commands;
            assert.deepEqual(c.slice(0, 3), ["APP_VERSION=$(bash buildspecs/deploy-common.sh)", 'test -n "$APP_VERSION"', "export APP_VERSION"], file);
            assert.ok(c.some((x) => x.includes('pulumi config set todobackend:imageTag "$APP_VERSION"')), file);
        }
        assert.deepEqual(spec("deploy-execute.yml").phases.build.commands.slice(0, 3),
            ['APP_VERSION=$(bash buildspecs/approved-tag.sh "$CODEBUILD_SRC_DIR_ChangeSetPlan")', 'test -n "$APP_VERSION"', "export APP_VERSION"]);
    });
    describe("ExecuteChangeSet applies only the approved preview's artifact, of the commit it runs (approved-tag.sh, run with bash)", () => {
        const COMMIT = "0123456789abcdef0123456789abcdef01234567";
        const sha256 = (text: string) => require("node:crypto").createHash("sha256").update(text).digest("hex") as string;
        const artifact = (tag: string, plan = '{"resourcePlans":{}}') => {
            const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
            fs.writeFileSync(path.join(tmp, "tag.txt"), tag);
            fs.writeFileSync(path.join(tmp, "plan.json"), plan);
            return tmp;
        };
        const approvedTag = (planDir: string, env: Record<string, string>) => {
            try {
                return { code: 0, out: execFileSync("bash", [path.join(dir, "approved-tag.sh"), planDir], { stdio: ["ignore", "pipe", "pipe"],
                    env: { PATH: process.env.PATH, ...env } }).toString() };
            } catch (e) {
                const err = e as { status: number; stdout: Buffer; stderr: Buffer };
                return { code: err.status, out: `${err.stdout}${err.stderr}` };
            }
        };
        const approved = { CODEBUILD_RESOLVED_SOURCE_VERSION: COMMIT, APPROVED_APP_VERSION: "abc1234.42", APPROVED_PLAN_SHA256: sha256('{"resourcePlans":{}}') };
        it("prints the approved tag when tag, commit and plan are the approved preview's", () => {
            assert.deepEqual(approvedTag(artifact(`abc1234.42\n${COMMIT}\n`), approved), { code: 0, out: "abc1234.42\n" });
        });
        it("fails when the preview ran another commit than this build checked out, naming both", () => {
            const r = approvedTag(artifact(`abc1234.42\nfedcba9876543210fedcba9876543210fedcba98\n`), approved);
            assert.equal(r.code, 1);
            assert.match(r.out, /the approved preview ran commit fedcba98.*, this build checked out 01234567.*Refusing to update prod\. Fix: re-run the pipeline/);
        });
        it("fails when the artifact was rewritten after the preview: another tag, another plan, or no commit", () => {
            assert.match(approvedTag(artifact(`evil.1\n${COMMIT}\n`), approved).out, /tag\.txt names evil\.1, the approved preview exported abc1234\.42/);
            assert.match(approvedTag(artifact(`abc1234.42\n${COMMIT}\n`, '{"resourcePlans":{"x":{}}}'), approved).out, /plan\.json's SHA-256 is [0-9a-f]{64}, the approved preview's was/);
            assert.match(approvedTag(artifact("abc1234.42\n"), approved).out, /does not say which commit the preview ran/);
            assert.match(approvedTag(artifact(`abc1234.42\n${COMMIT}\n`), { CODEBUILD_RESOLVED_SOURCE_VERSION: COMMIT }).out, /APPROVED_APP_VERSION and APPROVED_PLAN_SHA256 are not set/);
        });
        it("has the ChangeSet write the tag and its commit into tag.txt and export the plan's SHA-256", () => {
            const c: string[] = spec("deploy-changeset.yml").phases.build.commands;
            const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
            fs.writeFileSync(path.join(tmp, "plan.json"), '{"resourcePlans":{}}');
            const write = c.filter((x) => x.includes("> tag.txt") || x.includes("PLAN_SHA256"));
            const out = execFileSync("bash", ["-c", [...write, 'echo "$PLAN_SHA256"'].join("\n")], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"],
                env: { PATH: process.env.PATH, APP_VERSION: "abc1234.42", CODEBUILD_RESOLVED_SOURCE_VERSION: COMMIT } }).toString().trim();
            assert.equal(out, approved.APPROVED_PLAN_SHA256);
            assert.deepEqual(approvedTag(tmp, approved), { code: 0, out: "abc1234.42\n" }, "what ChangeSet writes, ExecuteChangeSet accepts");
            assert.ok(spec("deploy-changeset.yml").env["exported-variables"].includes("PLAN_SHA256"));
        });
    });
    it("deploys dev with the policy pack on the S3 backend and KMS secrets provider", () => {
        const c: string[] = spec("deploy-dev.yml").phases.build.commands;
        assert.ok(c.includes('pulumi login "$PULUMI_BACKEND_URL"'));
        const login = c.indexOf('pulumi login "$PULUMI_BACKEND_URL"');
        assert.deepEqual(c.slice(login + 1, login + 3), ["bash buildspecs/stack-check.sh dev", "pulumi stack select dev"], "the stack file names its secrets provider before any pulumi command");
        assert.deepEqual(c.slice(-2), ["pulumi up -s dev --yes --non-interactive --policy-pack policy", "node buildspecs/rollout-check.js dev"]);
    });
    it("saves the prod plan and readable diff as the ChangeSet artifact, failing when the preview fails", () => {
        const s = spec("deploy-changeset.yml");
        assert.ok(s.phases.build.commands.some((x: string) =>
            /^set -o pipefail; pulumi preview -s prod .*--policy-pack policy --save-plan plan\.json \| tee preview\.txt$/.test(x)));
        assert.deepEqual(s.artifacts.files, ["plan.json", "preview.txt", "tag.txt"]);
    });
    it("exports the tag, a change summary and the build's URL for the approver", () => {
        const s = spec("deploy-changeset.yml");
        assert.deepEqual(s.env["exported-variables"], ["APP_VERSION", "PREVIEW_SUMMARY", "PREVIEW_URL", "PLAN_SHA256"]);
        const c: string[] = s.phases.build.commands;
        assert.ok(c.includes('export PREVIEW_SUMMARY="$(node buildspecs/plan-check.js summary plan.json)"'));
        assert.ok(c.includes('export PREVIEW_URL="$CODEBUILD_BUILD_URL"'));
    });
    it("applies prod with the approved tag only after a fresh preview matches the approved plan", () => {
        const c: string[] = spec("deploy-execute.yml").phases.build.commands;
        assert.match(c[0], /approved-tag\.sh "\$CODEBUILD_SRC_DIR_ChangeSetPlan"/);
        const compare = c.indexOf('node buildspecs/plan-check.js compare "$CODEBUILD_SRC_DIR_ChangeSetPlan/plan.json" current-plan.json');
        const preview = c.findIndex((x) => /^pulumi preview -s prod .*--save-plan current-plan\.json/.test(x));
        const up = c.findIndex((x) => x.includes("pulumi up -s prod"));
        assert.ok(preview >= 0 && preview < compare && compare < up, `preview ${preview}, compare ${compare}, up ${up}`);
        assert.deepEqual(c.slice(up + 1), ["node buildspecs/rollout-check.js prod"], "the rollout is checked after the update");
    });
});

describe("deploy-execute's update (a stand-in pulumi that prints its arguments: the command line, not the update)", () => {
    // Runs the buildspec's last command with a stand-in `pulumi` that prints its arguments; the
    // real CLI's handling of --plan is tested on plans it wrote (plan-check below) and in test/bootstrap.test.ts.
    const upArgs = (useUpdatePlan?: string) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "pulumi"), '#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
        const commands = spec("deploy-execute.yml").phases.build.commands as string[];
        const command = commands.find((c) => c.includes("pulumi up -s prod"))!;
        return execFileSync("bash", ["-c", command], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: `${tmp}:${process.env.PATH}`, CODEBUILD_SRC_DIR_ChangeSetPlan: "/approved",
            ...(useUpdatePlan === undefined ? {} : { USE_UPDATE_PLAN: useUpdatePlan }) } }).toString().trim().split("\n");
    };
    it("passes the approved plan to pulumi up by default", () => {
        assert.deepEqual(upArgs(), ["up", "-s", "prod", "--yes", "--non-interactive", "--policy-pack", "policy", "--plan", "/approved/plan.json"]);
        assert.deepEqual(upArgs("true"), upArgs());
    });
    it("drops --plan when USE_UPDATE_PLAN is false, leaving the comparison as the guard", () => {
        assert.deepEqual(upArgs("false"), ["up", "-s", "prod", "--yes", "--non-interactive", "--policy-pack", "policy"]);
    });
});

describe("rollout-check.js asking ECS through the real @aws-sdk/client-ecs (API answers from aws-sdk-client-mock)", () => {
    // Answers in the shape ECS DescribeServices returns (AWS API reference), written here: this
    // machine has no AWS account to record them from. NEW is what the stack declares. The SDK
    // client is the real one; aws-sdk-client-mock replaces only its transport's answers.
    const fixtures = path.resolve(__dirname, "fixtures-delivery/rollout");
    const NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-dev:42";
    const answer = (file: string) => JSON.parse(fs.readFileSync(path.join(fixtures, file), "utf8"));
    const outputs = { clusterName: "todobackend-dev-cluster", serviceName: "todobackend", appTaskDefinitionArn: NEW };
    const ecs = mockClient(ECSClient);
    let lines: string[];
    let errors: string[];
    const check = (over: Record<string, unknown> = {}) => rollout.checkRollout("dev", {
        outputs: () => outputs, log: (l: string) => lines.push(l), error: (l: string) => errors.push(l), sleep: async () => undefined, ...over });
    beforeEach(() => {
        ecs.reset();
        lines = [];
        errors = [];
    });
    after(() => ecs.restore());

    it("passes a primary deployment of the new task definition whose rollout COMPLETED, asking for the stack's cluster and service", async () => {
        ecs.on(DescribeServicesCommand).resolves(answer("completed.json"));
        assert.equal(await check(), 0);
        assert.deepEqual(lines, [`rollout-check dev: completed: todobackend runs ${NEW} (1/1 tasks), rollout COMPLETED`]);
        assert.deepEqual(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input), [{ cluster: "todobackend-dev-cluster", services: ["todobackend"] }]);
    });
    it("fails a deployment the circuit breaker rolled back, though its rollout says COMPLETED, naming the task definition that runs", async () => {
        ecs.on(DescribeServicesCommand).resolves(answer("rolled-back.json"));
        assert.equal(await check(), 1);
        assert.match(lines[0], /^rollout-check dev: failed: the primary deployment runs .*todobackend-dev:41, not .*todobackend-dev:42: ECS rolled the deployment back \(last event: .*deployment failed: tasks failed to start\.\)$/);
    });
    it("fails a FAILED rollout with ECS's reason, and a service ECS does not know", async () => {
        ecs.on(DescribeServicesCommand).resolves(answer("failed.json"));
        assert.equal(await check(), 1);
        assert.equal(lines[0], `rollout-check dev: failed: the rollout of ${NEW} FAILED: ECS deployment circuit breaker: tasks failed to start.`);
        ecs.on(DescribeServicesCommand).resolves(answer("missing.json"));
        assert.equal(await check(), 1);
        assert.match(lines[1], /^rollout-check dev: failed: ECS found no such service \(.*MISSING/);
    });
    it("keeps polling while the rollout is in progress and passes once it completes", async () => {
        ecs.on(DescribeServicesCommand).resolvesOnce(answer("in-progress.json")).resolvesOnce(answer("in-progress.json")).resolves(answer("completed.json"));
        const slept: number[] = [];
        assert.equal(await check({ sleep: async (ms: number) => { slept.push(ms); } }), 0);
        assert.deepEqual(lines.map((l) => l.split(":")[1].trim()), ["in-progress", "in-progress", "completed"]);
        assert.deepEqual(slept, [15_000, 15_000], "ROLLOUT_POLL_SECONDS defaults to 15");
    });
    it("gives up after ROLLOUT_TIMEOUT_SECONDS on a rollout that never completes", async () => {
        ecs.on(DescribeServicesCommand).resolves(answer("in-progress.json"));
        let clock = 0;
        process.env.ROLLOUT_TIMEOUT_SECONDS = "40";
        try {
            assert.equal(await check({ now: () => clock, sleep: async (ms: number) => { clock += ms; } }), 1);
        } finally {
            delete process.env.ROLLOUT_TIMEOUT_SECONDS;
        }
        assert.equal(lines.length, 3, "asked at 0 s, 15 s and 30 s");
        assert.match(errors[0], /not completed within 40 s/);
    });
    it("fails, naming the SDK's error, when ECS refuses the call (e.g. the role lacks ecs:DescribeServices)", async () => {
        const denied = Object.assign(new Error("User is not authorized to perform: ecs:DescribeServices"), { name: "AccessDeniedException" });
        ecs.on(DescribeServicesCommand).rejects(denied);
        await assert.rejects(check(), /AccessDeniedException|not authorized to perform: ecs:DescribeServices/);
    });
    it("fails when the stack has no output it needs, naming the output", async () => {
        assert.equal(await check({ outputs: () => ({ clusterName: "c", serviceName: "s" }) }), 1);
        assert.match(errors[0], /stack dev has no output appTaskDefinitionArn/);
        assert.equal(ecs.commandCalls(DescribeServicesCommand).length, 0);
    });
    it("needs nothing from the deploy image but node and the repository's node_modules (no aws CLI)", () => {
        const source = fs.readFileSync(path.join(dir, "rollout-check.js"), "utf8");
        assert.doesNotMatch(source, /execFileSync\("aws"|spawn(Sync)?\("aws"/);
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
        assert.ok(pkg.dependencies["@aws-sdk/client-ecs"], "a runtime dependency, installed by the buildspecs' npm ci");
        for (const file of ["deploy-dev.yml", "deploy-execute.yml"]) assert.deepEqual(spec(file).phases.install.commands, ["npm ci"], file);
    });
});

describe("plan-check.js on plans written by the Pulumi CLI", () => {
    const plans = path.join(__dirname, "fixtures-delivery", "plans");
    const run = (...args: string[]) => {
        try {
            return { code: 0, out: execFileSync(process.execPath, [path.join(dir, "plan-check.js"), ...args], { stdio: "pipe" }).toString() };
        } catch (e) {
            const err = e as { status: number; stdout: Buffer; stderr: Buffer };
            return { code: err.status, out: `${err.stdout}${err.stderr}` };
        }
    };
    const plan = (f: string) => path.join(plans, f);

    it("summarises the planned steps for the approver, leaving out unchanged resources", () => {
        assert.deepEqual(run("summary", plan("approved.json")), { code: 0, out: "1 to create, 2 to update\n" });
    });
    it("says so when a plan changes nothing", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        const nothing = JSON.parse(fs.readFileSync(plan("approved.json"), "utf8"));
        for (const rp of Object.values(nothing.resourcePlans) as Array<{ steps: string[] }>) rp.steps = ["same"];
        fs.writeFileSync(path.join(tmp, "same.json"), JSON.stringify(nothing));
        assert.deepEqual(run("summary", path.join(tmp, "same.json")), { code: 0, out: "no changes\n" });
    });
    it("accepts a fresh preview that takes the approved steps with the approved inputs", () => {
        const r = run("compare", plan("approved.json"), plan("unchanged.json"));
        assert.equal(r.code, 0, r.out);
    });
    it("refuses when the same steps would now set different values, naming the resource", () => {
        const r = run("compare", plan("approved.json"), plan("changed-value.json"));
        assert.equal(r.code, 1);
        assert.match(r.out, /Refusing to update prod: the preview no longer matches the approved one/);
        assert.match(r.out, /dynamic:Resource::a: update with different inputs than approved/);
        assert.doesNotMatch(r.out, /Resource::b/);
    });
    it("refuses when a step appears or changes kind since approval", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        const drifted = JSON.parse(fs.readFileSync(plan("approved.json"), "utf8"));
        const b = Object.keys(drifted.resourcePlans).find((u) => u.endsWith("::b"))!;
        drifted.resourcePlans[b].steps = ["replace"];
        drifted.resourcePlans["urn:pulumi:dev::planprobe::pulumi-nodejs:dynamic:Resource::c"] = { steps: ["delete"] };
        fs.writeFileSync(path.join(tmp, "drifted.json"), JSON.stringify(drifted));
        const r = run("compare", plan("approved.json"), path.join(tmp, "drifted.json"));
        assert.equal(r.code, 1);
        assert.match(r.out, /Resource::b: approved create, now replace/);
        assert.match(r.out, /Resource::c: approved absent, now delete/);
    });
    it("treats two encryptions of a secret input as equal, since each preview encrypts afresh", () => {
        // The shape the CLI writes for a changed secret input (seen with v3.259.0 and a passphrase provider).
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        const withSecret = (ciphertext: string) => {
            const p = JSON.parse(fs.readFileSync(plan("approved.json"), "utf8"));
            const a = Object.keys(p.resourcePlans).find((u) => u.endsWith("::a"))!;
            p.resourcePlans[a].goal.inputDiff = { updates: { s: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext } } };
            const file = path.join(tmp, `${ciphertext.length}-${ciphertext.slice(-4)}.json`);
            fs.writeFileSync(file, JSON.stringify(p));
            return file;
        };
        const r = run("compare", withSecret("v1:7ejWbSg47lfGH8U5:6N4ZbUIe1cT/TxkDqZ0lgzDx875j6ZE="), withSecret("v1:Qm9vZ3VzTm9uY2Ux:aGVsbG8gd29ybGQgYWdhaW4="));
        assert.equal(r.code, 0, r.out);
        assert.equal(run("compare", withSecret("v1:7ejWbSg47lfGH8U5:6N4ZbUIe1cT/TxkDqZ0lgzDx875j6ZE="), plan("approved.json")).code, 1,
            "a secret where the approved plan had a plain value still differs");
    });
    it("exits 2 on a file that is not a plan and on bad usage", () => {
        assert.equal(run("summary", path.join(dir, "deploy-dev.yml")).code, 2);
        assert.equal(run("compare", plan("approved.json")).code, 2);
    });
});
