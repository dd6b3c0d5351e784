import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareFingerprint, computeFingerprint, Fingerprint, programFiles, StateSnapshot } from "../../../automation/approvals/fingerprint";

describe("preview fingerprint", () => {
    let dir: string;
    let state: StateSnapshot;
    const read = async () => state;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "fp-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: p\nruntime: nodejs\nmain: src/\n");
        fs.mkdirSync(path.join(dir, "src"));
        fs.writeFileSync(path.join(dir, "src", "index.ts"), "export const x = 1;\n");
        fs.writeFileSync(path.join(dir, "package-lock.json"), "{}\n");
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config:\n  p:size: small\n");
        fs.writeFileSync(path.join(dir, "README.md"), "docs\n");
        state = { version: 3, deployment: { resources: [{ urn: "u", outputs: { a: 1 } }] } };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const fp = () => computeFingerprint(dir, "prod", read);
    const parts = (a: Fingerprint, b: Fingerprint) => compareFingerprint(a, b).map((c) => c.part);

    it("is unchanged when nothing changed, and changed by any file the program could read, docs included", async () => {
        const before = await fp();
        assert.deepEqual(compareFingerprint(before, await fp()), []);
        fs.writeFileSync(path.join(dir, "README.md"), "more docs\n");
        assert.deepEqual(parts(before, await fp()), ["program"]);
    });
    it("says the state changed when a new update happened", async () => {
        const before = await fp();
        state = { version: 4, deployment: state.deployment };
        assert.deepEqual(compareFingerprint(before, await fp()), [{ part: "state", message: "the stack was changed by update #4 (the preview saw #3)" }]);
    });
    it("says the state changed when the exported state differs at the same version", async () => {
        const before = await fp();
        state = { version: 3, deployment: { resources: [{ urn: "u", outputs: { a: 2 } }] } };
        assert.deepEqual(parts(before, await fp()), ["state"]);
    });
    it("says the program changed when a program file or the lockfile changes", async () => {
        const before = await fp();
        fs.writeFileSync(path.join(dir, "src", "index.ts"), "export const x = 2;\n");
        assert.deepEqual(parts(before, await fp()), ["program"]);
        const mid = await fp();
        fs.writeFileSync(path.join(dir, "package-lock.json"), '{"v":2}\n');
        assert.deepEqual(parts(mid, await fp()), ["program"]);
    });
    it("says the config changed when the stack's config file changes, and only that", async () => {
        const before = await fp();
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config:\n  p:size: large\n");
        assert.deepEqual(parts(before, await fp()), ["config"]);
    });
    it("ignores the encryption salt the CLI adds when a preview creates the stack", async () => {
        fs.rmSync(path.join(dir, "Pulumi.prod.yaml"));
        const before = await fp();
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "encryptionsalt: v1:abc:def\n");
        assert.deepEqual(compareFingerprint(before, await fp()), []);
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "encryptionsalt: v1:abc:def\nconfig:\n  p:size: small\n");
        assert.deepEqual(parts(before, await fp()), ["config"]);
    });
    it("counts every file of a project outside git as program, but not stack files, dot-directories or node_modules", () => {
        fs.mkdirSync(path.join(dir, "src", "node_modules"));
        fs.writeFileSync(path.join(dir, "src", "node_modules", "x.js"), "");
        fs.mkdirSync(path.join(dir, ".automation"));
        fs.writeFileSync(path.join(dir, ".automation", "jobs.sqlite"), "");
        fs.mkdirSync(path.join(dir, "buildspecs"));
        fs.writeFileSync(path.join(dir, "buildspecs", "deploy.yml"), "");
        assert.deepEqual(programFiles(dir).map((f) => path.relative(dir, f)), ["Pulumi.yaml", "README.md", path.join("buildspecs", "deploy.yml"), "package-lock.json", path.join("src", "index.ts")]);
    });
    it("counts every file git tracks or would track in the project's repository, beyond the project's directory, and no ignored one", () => {
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "fp-repo-"));
        const project = path.join(repo, "infra");
        fs.cpSync(dir, project, { recursive: true });
        const g = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: repo, encoding: "utf8" });
        g("init", "-q");
        fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules/\nout/\n");
        fs.mkdirSync(path.join(repo, "images"));
        fs.writeFileSync(path.join(repo, "images", "Dockerfile"), "FROM scratch\n");
        fs.mkdirSync(path.join(project, "out"));
        fs.writeFileSync(path.join(project, "out", "written-by-an-update.txt"), "");
        g("add", ".");
        g("commit", "-qm", "x");
        fs.writeFileSync(path.join(repo, "untracked.js"), "");
        try {
            const rel = programFiles(project).map((f) => path.relative(repo, f));
            assert.deepEqual(rel, [".gitignore", path.join("images", "Dockerfile"), ...["Pulumi.yaml", "README.md", "package-lock.json", path.join("src", "index.ts")].map((f) => path.join("infra", f)), "untracked.js"]);
        } finally {
            fs.rmSync(repo, { recursive: true, force: true });
        }
    });
});
