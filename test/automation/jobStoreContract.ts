// What every job store promises the job service, whatever holds the data: one suite, run by
// store.test.ts against the SQLite file and by postgresStore.test.ts against a real Postgres.
import * as assert from "node:assert/strict";
import type { JobStore } from "../../automation/jobs/store";

export interface StoreUnderTest {
    store: JobStore;
    /** Closes the store and opens the same data again (a restart). */
    reopen(): Promise<JobStore>;
    /** A second store on the same data, as another service instance holds it; undefined for a store of one process. */
    another?(): Promise<JobStore>;
    cleanup(): Promise<void>;
}

export function jobStoreContract(open: () => Promise<StoreUnderTest>): void {
    let t: StoreUnderTest;
    let store: JobStore;
    beforeEach(async () => {
        t = await open();
        store = t.store;
    });
    afterEach(async () => {
        await t.cleanup();
    });

    it("keeps jobs, events and log lines across a reopen, and continues their sequences", async () => {
        const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "ada", triggeredVia: "token", options: { message: "hi" } });
        await store.markRunning(job.id, "i1");
        await store.appendEvent(job.id, "state", { state: "running" });
        await store.appendLog(job.id, "line one");
        store = await t.reopen();
        const again = (await store.getJob(job.id))!;
        assert.equal(again.state, "running");
        assert.ok(again.startedAt);
        assert.deepEqual(again.options, { message: "hi" });
        assert.equal((await store.eventsAfter(job.id, 0))[0].type, "state");
        assert.deepEqual((await store.eventsAfter(job.id, 0))[0].data, { state: "running" });
        assert.equal((await store.logPage(job.id, 0)).lines[0].text, "line one");
        assert.equal((await store.appendEvent(job.id, "x", {})).seq, 2);
    });

    it("lists jobs newest first, filtered by stack and state, and the jobs in given states oldest first", async () => {
        const a = await store.createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        const b = await store.createJob({ stack: "prod", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        const c = await store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        await store.finish(a.id, "succeeded");
        assert.deepEqual((await store.listJobs()).map((j) => j.id), [c.id, b.id, a.id]);
        assert.deepEqual((await store.listJobs({ stack: "dev" })).map((j) => j.id), [c.id, a.id]);
        assert.deepEqual((await store.listJobs({ state: "succeeded" })).map((j) => j.id), [a.id]);
        assert.deepEqual((await store.listJobs({ limit: 1 })).map((j) => j.id), [c.id]);
        assert.deepEqual((await store.jobsInStates(["queued"])).map((j) => j.id), [b.id, c.id]);
        assert.equal(await store.getJob("no-such-job"), undefined);
    });

    it("pages the log by cursor", async () => {
        const job = await store.createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        for (let i = 1; i <= 5; i++) await store.appendLog(job.id, `l${i}`);
        const first = await store.logPage(job.id, 0, 2);
        assert.deepEqual(first.lines.map((l) => l.text), ["l1", "l2"]);
        const second = await store.logPage(job.id, first.nextCursor, 10);
        assert.deepEqual(second.lines.map((l) => l.text), ["l3", "l4", "l5"]);
        const end = await store.logPage(job.id, second.nextCursor);
        assert.equal(end.lines.length, 0);
        assert.equal(end.nextCursor, second.nextCursor);
    });

    it("reads events after a sequence number, in order, at most a page", async () => {
        const job = await store.createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
        for (let i = 1; i <= 4; i++) await store.appendEvent(job.id, "step", { i, nested: { text: "ü ✓" } });
        const page = await store.eventsAfter(job.id, 1, 2);
        assert.deepEqual(page.map((e) => [e.seq, e.jobId, e.type, (e.data as { i: number }).i]), [[2, job.id, "step", 2], [3, job.id, "step", 3]]);
        assert.deepEqual((page[0].data as { nested: unknown }).nested, { text: "ü ✓" });
        assert.ok(!Number.isNaN(Date.parse(page[0].at)));
    });

    it("keeps how the caller was authenticated, and finds the newest job by stack, state, op, source and start", async () => {
        const pr = await store.createJob({ stack: "dev", op: "preview", triggeredBy: "github:octo", triggeredVia: "webhook", options: { source: { repository: "a/b", pullRequest: 1, sha: "f".repeat(40) } } });
        const own = await store.createJob({ stack: "dev", op: "preview", triggeredBy: "ada", triggeredVia: "token" });
        await store.finish(pr.id, "succeeded");
        await store.finish(own.id, "succeeded");
        assert.equal((await store.getJob(pr.id))!.triggeredVia, "webhook");
        assert.equal((await store.lastJob("dev"))!.id, own.id);
        assert.equal((await store.lastJob("dev", { states: ["succeeded"], ops: ["preview"], ownCheckoutOnly: true }))!.id, own.id);
        assert.equal((await store.lastJob("dev", { ops: ["update"] })), undefined);
        assert.equal(await store.lastJob("dev", { started: true }), undefined, "neither job ever reached a worker");
        const ran = await store.createJob({ stack: "dev", op: "refresh", triggeredBy: "ada", triggeredVia: "token" });
        await store.markRunning(ran.id, "i1");
        assert.equal((await store.lastJob("dev", { started: true }))!.id, ran.id);
    });

    it("finds the job a caller created with an Idempotency-Key, and only that caller's", async () => {
        const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "ada", triggeredVia: "token", options: { idempotencyKey: "k-1" } });
        await store.createJob({ stack: "dev", op: "update", triggeredBy: "bob", triggeredVia: "token", options: { idempotencyKey: "k-2" } });
        assert.equal((await store.jobOfIdempotencyKey("ada", "k-1"))?.id, job.id);
        assert.equal(await store.jobOfIdempotencyKey("bob", "k-1"), undefined, "another caller's key is not theirs");
        assert.equal(await store.jobOfIdempotencyKey("ada", "k-2"), undefined);
    });

    it("settles a job with its summary and error, keeping a summary written while it ran when the settle has none", async () => {
        const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        await store.markRunning(job.id, "i1");
        await store.setWorkerPid(job.id, 4242);
        assert.equal(await store.workerPid(job.id), 4242);
        const progress = { counts: { create: 1 }, steps: [{ urn: "urn:a", op: "create", type: "t" }], policyViolations: [] } as never;
        await store.updateSummary(job.id, progress);
        assert.deepEqual((await store.getJob(job.id))!.summary, progress);
        const failed = await store.finish(job.id, "failed", { error: { code: "X", message: "why" } });
        assert.equal(failed.state, "failed");
        assert.ok(failed.finishedAt);
        assert.deepEqual(failed.error, { code: "X", message: "why" });
        assert.deepEqual(failed.summary, progress);
    });

    it("lets one claimant start a queued job, and settles conditionally: a job cancelled or started elsewhere is left alone", async () => {
        const other = t.another ? await t.another() : store;
        const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        const claims = await Promise.all([store.markRunning(job.id, "i1"), other.markRunning(job.id, "i2")]);
        assert.equal(claims.filter((c) => c !== undefined).length, 1, "exactly one instance claims it");
        const winner = claims.find((c) => c)!;
        assert.equal(winner.state, "running");
        assert.equal((await store.getJob(job.id))!.instance, winner.instance);
        assert.equal(await store.finishIf(job.id, "queued", "cancelled"), undefined, "no longer queued: a cancel of the waiting job loses");
        assert.equal((await store.getJob(job.id))!.state, "running");
        const settled = await other.finishIf(job.id, "running", "interrupted", { error: { code: "INTERRUPTED", message: "gone" } });
        assert.equal(settled?.state, "interrupted");
        assert.equal(await store.finishIf(job.id, "running", "succeeded"), undefined, "a late result of the silent instance changes nothing");
        assert.equal(await store.markRunning(job.id, "i3"), undefined);
        if (other !== store) await other.close();
    });

    it("shows who asked to cancel a running job, the first asker only, and finds the running jobs of given instances", async () => {
        const a = await store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        const b = await store.createJob({ stack: "prod", op: "update", triggeredBy: "t", triggeredVia: "token" });
        await store.markRunning(a.id, "i1");
        await store.markRunning(b.id, "i2");
        await store.requestCancel(a.id, "otto");
        await store.requestCancel(a.id, "ada");
        assert.equal((await store.getJob(a.id))!.cancelRequestedBy, "otto");
        assert.equal((await store.getJob(b.id))!.cancelRequestedBy, undefined);
        assert.deepEqual((await store.runningJobsOf(["i1"])).map((j) => j.id), [a.id]);
        assert.deepEqual((await store.runningJobsOf(["i1", "i2"])).map((j) => j.id), [a.id, b.id]);
        await store.finish(a.id, "cancelled");
        assert.equal((await store.getJob(a.id))!.cancelRequestedBy, undefined, "only a running job is cancelling");
        assert.deepEqual((await store.runningJobsOf(["i1"])).map((j) => j.id), []);
    });

    it("numbers the events and log lines of a job without gaps or repeats when they are written at once", async () => {
        const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "t", triggeredVia: "token" });
        const other = t.another ? await t.another() : store;
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : store).appendEvent(job.id, "e", { i })));
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : store).appendLog(job.id, `l${i}`)));
        assert.deepEqual((await store.eventsAfter(job.id, 0, 100)).map((e) => e.seq), Array.from({ length: 40 }, (_, i) => i + 1));
        assert.deepEqual((await store.logPage(job.id, 0, 100)).lines.map((l) => l.seq), Array.from({ length: 40 }, (_, i) => i + 1));
        if (other !== store) await other.close();
    });

    it("prunes the events and log of jobs that finished before the cutoff, keeping their rows and summaries and all of each stack's newest job", async () => {
        const make = async (stack: string, finishedAt: Date | undefined) => {
            const job = await store.createJob({ stack, op: "preview", triggeredBy: "ada", triggeredVia: "token", now: new Date(finishedAt ? finishedAt.getTime() - 1000 : Date.now()) });
            await store.markRunning(job.id, "i1", new Date(finishedAt ? finishedAt.getTime() - 500 : Date.now()));
            await store.appendEvent(job.id, "state", { state: "running" });
            await store.appendLog(job.id, `log of ${job.id}`);
            if (finishedAt) await store.finish(job.id, "succeeded", { summary: { counts: { same: 1 }, steps: [], policyViolations: [] } }, finishedAt);
            return job;
        };
        const day = 24 * 3600 * 1000;
        const oldDev = await make("dev", new Date(Date.now() - 10 * day));
        const newestDev = await make("dev", new Date(Date.now() - 9 * day));
        const oldProd = await make("prod", new Date(Date.now() - 10 * day));
        const recentProd = await make("prod", new Date(Date.now() - 1000));
        const runningProd = await make("prod", undefined);
        const result = await store.prune(new Date(Date.now() - 5 * day));
        assert.deepEqual({ ...result, jobIds: [...result.jobIds].sort() }, { jobs: 2, jobIds: [oldDev.id, oldProd.id].sort(), events: 2, logLines: 2 });
        for (const job of [oldDev, oldProd]) {
            assert.deepEqual((await store.eventsAfter(job.id, 0)).length, 0);
            assert.deepEqual((await store.logPage(job.id, 0)).lines.length, 0);
            const kept = (await store.getJob(job.id))!;
            assert.deepEqual([kept.state, kept.summary?.counts], ["succeeded", { same: 1 }], "the row and its summary stay");
        }
        for (const job of [newestDev, recentProd, runningProd]) {
            assert.equal((await store.eventsAfter(job.id, 0)).length, 1, "kept: a stack's newest job, a recent one, a running one");
            assert.equal((await store.logPage(job.id, 0)).lines.length, 1);
        }
        assert.deepEqual(await store.prune(new Date(Date.now() - 5 * day)), { jobs: 0, jobIds: [], events: 0, logLines: 0 }, "twice changes nothing");
    });
}
