import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

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
        assert.match(pre[0], /dockerd/);
        assert.doesNotMatch(pre[0], /storage-driver/);
        assert.match(pre[1], /^timeout 15 /);
    });
    it("derives BUILD_ID and APP_VERSION from CodeBuild's variables", () => {
        const pre: string[] = s.phases.pre_build.commands;
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        const script = [pre[2], pre[3], 'echo "$APP_VERSION"'].join("\n");
        const out = execFileSync("bash", ["-c", script], { cwd: tmp, env: { PATH: process.env.PATH,
            CODEBUILD_BUILD_ID: "todobackend-build:0f3c-11", CODEBUILD_RESOLVED_SOURCE_VERSION: "abc1234" } }).toString().trim();
        assert.equal(out, "abc1234.0f3c-11");
    });
});

describe("deploy buildspecs", () => {
    it("reads the image tag from ApplicationVersion/version.json", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "version.json"), '{"Version": "abc1234.42"}');
        const out = execFileSync("bash", [path.join(dir, "deploy-common.sh")], { env: { PATH: process.env.PATH, CODEBUILD_SRC_DIR_ApplicationVersion: tmp } }).toString().trim();
        assert.equal(out, "abc1234.42");
    });
    it("fails instead of deploying an empty tag when version.json has no Version", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bs-"));
        fs.writeFileSync(path.join(tmp, "version.json"), "{}");
        assert.throws(() => execFileSync("bash", [path.join(dir, "deploy-common.sh")], { stdio: "pipe", env: { PATH: process.env.PATH, CODEBUILD_SRC_DIR_ApplicationVersion: tmp } }));
    });
    it("deploys dev with the policy pack on the S3 backend and KMS secrets provider", () => {
        const c: string[] = spec("deploy-dev.yml").phases.build.commands;
        assert.ok(c.includes('pulumi login "$PULUMI_BACKEND_URL"'));
        assert.ok(c.some((x) => x.includes('--secrets-provider "$PULUMI_SECRETS_PROVIDER"')));
        assert.equal(c.at(-1), "pulumi up -s dev --yes --non-interactive --policy-pack policy");
    });
    it("saves the prod plan and readable diff as the ChangeSet artifact", () => {
        const s = spec("deploy-changeset.yml");
        assert.ok(s.phases.build.commands.some((x: string) => /^pulumi preview -s prod .*--policy-pack policy --save-plan plan\.json \| tee preview\.txt$/.test(x)));
        assert.deepEqual(s.artifacts.files, ["plan.json", "preview.txt", "tag.txt"]);
    });
    it("applies prod with the approved plan and tag only", () => {
        const c: string[] = spec("deploy-execute.yml").phases.build.commands;
        assert.match(c[0], /ChangeSetPlan\/tag\.txt/);
        assert.equal(c.at(-1), 'pulumi up -s prod --yes --non-interactive --policy-pack policy --plan "$CODEBUILD_SRC_DIR_ChangeSetPlan/plan.json"');
        assert.ok(!c.some((x) => x.includes("preview")));
    });
});
