import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SqliteJobStore } from "../../automation/jobs/sqliteStore";
import type { JobStore } from "../../automation/jobs/store";

describe("the SQLite job store", () => {
    let dir: string;
    let store: JobStore;
    const open = () => new SqliteJobStore(path.join(dir, "jobs.sqlite"));

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-"));
        store = open();
    });
    afterEach(() => {
        store.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("keeps jobs, events and log lines across a reopen of the file", () => {
        const job = store.createJob({ stack: "dev", op: "update", triggeredBy: "ada", triggeredVia: "token", options: { message: "hi" } });
        store.markRunning(job.id);
        store.appendEvent(job.id, "state", { state: "running" });
        store.appendLog(job.id, "line one");
        store.close();
        store = open();
        const again = store.getJob(job.id)!;
        assert.equal(again.state, "running");
        assert.deepEqual(again.options, { message: "hi" });
        assert.equal(store.eventsAfter(job.id, 0)[0].type, "state");
        assert.equal(store.logPage(job.id, 0).lines[0].text, "line one");
        // Sequences continue after a reopen rather than restarting at 1.
        assert.equal(store.appendEvent(job.id, "x", {}).seq, 2);
    });

    it("lists jobs newest first, filtered by stack and state", () => {
        const a = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        const b = store.createJob({ stack: "prod", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        const c = store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        store.finish(a.id, "succeeded");
        assert.deepEqual(store.listJobs().map((j) => j.id), [c.id, b.id, a.id]);
        assert.deepEqual(store.listJobs({ stack: "dev" }).map((j) => j.id), [c.id, a.id]);
        assert.deepEqual(store.listJobs({ state: "succeeded" }).map((j) => j.id), [a.id]);
        assert.deepEqual(store.jobsInStates(["queued"]).map((j) => j.id), [b.id, c.id]);
    });

    it("pages the log by cursor", () => {
        const job = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        for (let i = 1; i <= 5; i++) store.appendLog(job.id, `l${i}`);
        const first = store.logPage(job.id, 0, 2);
        assert.deepEqual(first.lines.map((l) => l.text), ["l1", "l2"]);
        const second = store.logPage(job.id, first.nextCursor, 10);
        assert.deepEqual(second.lines.map((l) => l.text), ["l3", "l4", "l5"]);
        assert.equal(store.logPage(job.id, second.nextCursor).lines.length, 0);
    });
    it("keeps how the caller was authenticated, and finds the newest job by stack, state, op and source", () => {
        const pr = store.createJob({ stack: "dev", op: "preview", triggeredBy: "github:octo", triggeredVia: "webhook", options: { source: { repository: "a/b", pullRequest: 1, sha: "f".repeat(40) } } });
        const own = store.createJob({ stack: "dev", op: "preview", triggeredBy: "ada", triggeredVia: "token" });
        store.finish(pr.id, "succeeded");
        store.finish(own.id, "succeeded");
        assert.equal(store.getJob(pr.id)!.triggeredVia, "webhook");
        assert.equal(store.lastJob("dev")!.id, own.id);
        assert.equal(store.lastJob("dev", { states: ["succeeded"], ops: ["preview"], ownCheckoutOnly: true })!.id, own.id);
        assert.equal(store.lastJob("dev", { started: true }), undefined, "neither job ever reached a worker");
    });
});
