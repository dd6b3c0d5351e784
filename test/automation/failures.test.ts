// What a failed job says, with the real Pulumi CLI on the fixture project: the engine's own first
// error (never "cancelled" unless someone cancelled), the remedy for the causes we know, and the
// CLI's output stored once in the log.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Job } from "../../automation/jobs/types";
import { Harness, startHarness } from "./harness";

describe("failed jobs with the real Pulumi CLI", function () {
    this.timeout(180_000);
    let h: Harness;
    const run = async (stack: string, op = "updates"): Promise<Job> => {
        const r = await h.call("POST", `/v1/stacks/${stack}/${op}`, { token: h.tokens.admin, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        await h.waitFor(r.body.id);
        return (await h.call("GET", `/v1/jobs/${r.body.id}`, { token: h.tokens.viewer })).body as Job;
    };
    const git = (...args: string[]) => execFileSync("git", args, { cwd: h.projectDir, encoding: "utf8" }).trim();
    const log = async (id: string) => {
        const r = await h.call("GET", `/v1/jobs/${id}/log?limit=1000`, { token: h.tokens.viewer });
        return (r.body.lines as Array<{ text: string }>).map((l) => l.text);
    };

    before(async function () {
        this.timeout(60_000);
        h = await startHarness({});
    });
    after(async () => h?.stop());

    it("calls a failure whose message mentions cancelling a failure, with the engine's first error as its message", async () => {
        h.configure("cancelfail", { count: 1, prefix: "cancelled-item", failOn: "create" });
        const job = await run("cancelfail");
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "OPERATION_FAILED");
        assert.match(job.error!.message, /^The update of stack "cancelfail" failed: .*stand-in cloud refused to create cancelled-item-0\.txt/);
    });

    it("keeps the CLI's output once in the job's log", async () => {
        h.configure("once", { count: 1, failOn: "create" });
        const job = await run("once");
        const lines = await log(job.id);
        const refusals = lines.filter((l) => l.includes("stand-in cloud refused to create item-0.txt"));
        // The engine's diagnostic as the CLI printed it, and once more in its error summary: the CLI's own lines, not copies.
        const counted = new Map<string, number>();
        for (const l of refusals) counted.set(l, (counted.get(l) ?? 0) + 1);
        assert.ok(refusals.length >= 1, lines.join("\n"));
        assert.deepEqual([...counted.values()].filter((n) => n > 1), [], `a line stored twice: ${JSON.stringify([...counted])}`);
        assert.ok(lines.includes("error: CommandError"), "says the command failed");
        assert.ok(lines.some((l) => /^Command failed with exit code 1: .*pulumi up/.test(l)), "keeps the CLI's own stderr");
        assert.ok(!lines.some((l) => l.startsWith("error: CommandError: code:")), "not the whole CLI output again");
    });

    it("names the plugin to install when a resource plugin is missing", async () => {
        h.configure("plugin", { count: 1, needsPlugin: "aws@7.48.0" });
        const job = await run("plugin", "previews");
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "MISSING_PLUGIN");
        assert.match(job.error!.message, /the aws resource plugin v7\.48\.0 is not installed\. Fix: pulumi plugin install resource aws v7\.48\.0/);
    });

    it("names the stack to create first when a referenced stack does not exist", async () => {
        h.configure("downstream", { count: 1, readsStack: "organization/fixture/upstream" });
        const job = await run("downstream", "previews");
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "MISSING_STACK_REFERENCE");
        assert.match(job.error!.message, /reads the outputs of stack "organization\/fixture\/upstream", which does not exist in this backend\. Fix: create and update "organization\/fixture\/upstream" first/);
    });

    it("writes nothing into the project's tracked files, keeping the secrets provider's state in the data dir", async () => {
        h.configure("clean", { count: 1 });
        git("add", "-A");
        git("commit", "-qm", "the stack's config");
        for (const op of ["previews", "updates", "refreshes", "previews"]) assert.equal((await run("clean", op)).state, "succeeded", op);
        assert.equal(git("status", "--porcelain"), "", `the fixture's checkout is as committed:\n${git("status", "--porcelain")}\n${git("diff")}`);
        assert.doesNotMatch(fs.readFileSync(path.join(h.projectDir, "Pulumi.clean.yaml"), "utf8"), /encryptionsalt/);
        assert.match(fs.readFileSync(path.join(h.dataDir, "stack-config", "Pulumi.clean.yaml"), "utf8"), /encryptionsalt: v1:/);
    });

    it("says what to check when the passphrase does not open the stack's secrets", async () => {
        h.configure("salted", { count: 1 });
        assert.equal((await run("salted")).state, "succeeded");
        const kept = fs.readFileSync(path.join(h.dataDir, "stack-config", "Pulumi.salted.yaml"), "utf8");
        const salt = /encryptionsalt: (v1:[^:]+:v1:[^:]+:)(\S+)/.exec(kept);
        assert.ok(salt, `the data dir keeps the stack's salt:\n${kept}`);
        // A salt committed to the project wins over the kept one; this one was made with another passphrase.
        const file = path.join(h.projectDir, "Pulumi.salted.yaml");
        fs.appendFileSync(file, `encryptionsalt: ${salt[1]}${Buffer.from("made with another passphrase").toString("base64")}\n`);
        const job = await run("salted", "previews");
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "INCORRECT_PASSPHRASE");
        assert.match(job.error!.message, /the passphrase does not decrypt this stack's secrets\. Fix: check that the service runs with the passphrase the stack was created with/);
    });

    describe("what the API says when asked wrongly", () => {
        it("answers a form-encoded body with 415 instead of ignoring it", async () => {
            const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.admin, raw: "message=hello", headers: { "content-type": "application/x-www-form-urlencoded" } });
            assert.equal(r.status, 415);
            assert.equal(r.body.error.code, "UNSUPPORTED_MEDIA_TYPE");
            assert.match(r.body.error.message, /Send the body as JSON with Content-Type: application\/json \(got application\/x-www-form-urlencoded\)/);
            const jobs = await h.call("GET", "/v1/jobs?stack=dev", { token: h.tokens.viewer });
            assert.equal(jobs.body.jobs.length, 0, "nothing was queued");
        });

        it("asks for the destroy confirmation in its own words, naming the stack", async () => {
            const r = await h.call("POST", "/v1/stacks/dev/destroys", { token: h.tokens.admin, body: {} });
            assert.equal(r.status, 422);
            assert.equal(r.body.error.message, 'Destroying "dev" needs {"confirm": "dev"} in the body.');
        });

        it("shows as the stack's last job the last one that ran, not one cancelled before it started", async () => {
            h.configure("lastrun", { count: 1, delayMs: 1500 });
            const ran = await h.call("POST", "/v1/stacks/lastrun/updates", { token: h.tokens.admin, body: {} });
            const waiting = await h.call("POST", "/v1/stacks/lastrun/refreshes", { token: h.tokens.admin, body: {} });
            assert.equal((await h.call("POST", `/v1/jobs/${waiting.body.id}/cancel`, { token: h.tokens.admin })).body.state, "cancelled");
            const during = await h.call("GET", "/v1/stacks/lastrun", { token: h.tokens.viewer });
            assert.equal(during.body.runningJob, ran.body.id, "the current job");
            assert.equal(during.body.lastJob, undefined, "nothing has run to its end yet");
            await h.waitFor(ran.body.id);
            const after = await h.call("GET", "/v1/stacks/lastrun", { token: h.tokens.viewer });
            assert.deepEqual([after.body.lastJob.id, after.body.lastJob.state], [ran.body.id, "succeeded"]);
        });
    });
});
