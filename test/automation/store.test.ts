import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JobStore } from "../../automation/jobs/store";
import { createRedactor } from "../../automation/security/redact";

describe("job store", () => {
    let dir: string;
    let store: JobStore;
    const open = () => new JobStore(path.join(dir, "jobs.sqlite"), createRedactor, { PULUMI_CONFIG_PASSPHRASE: "env-pass-phrase" });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-"));
        store = open();
    });
    afterEach(() => {
        store.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("keeps jobs, events and log lines across a reopen of the file", () => {
        const job = store.createJob({ stack: "dev", op: "update", triggeredBy: "ada", options: { message: "hi" } });
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
        const a = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t" });
        const b = store.createJob({ stack: "prod", op: "preview", triggeredBy: "t" });
        const c = store.createJob({ stack: "dev", op: "update", triggeredBy: "t" });
        store.finish(a.id, "succeeded");
        assert.deepEqual(store.listJobs().map((j) => j.id), [c.id, b.id, a.id]);
        assert.deepEqual(store.listJobs({ stack: "dev" }).map((j) => j.id), [c.id, a.id]);
        assert.deepEqual(store.listJobs({ state: "succeeded" }).map((j) => j.id), [a.id]);
        assert.deepEqual(store.jobsInStates(["queued"]).map((j) => j.id), [b.id, c.id]);
    });

    it("redacts a job's secret values and the environment's credentials from everything it stores", () => {
        const job = store.createJob({ stack: "dev", op: "update", triggeredBy: "t" });
        store.useSecrets(job.id, ["hunter2-secret"]);
        store.appendLog(job.id, "token=hunter2-secret pass=env-pass-phrase");
        store.appendEvent(job.id, "diagnosticEvent", { message: "saw hunter2-secret" });
        store.finish(job.id, "failed", { error: { code: "X", message: "hunter2-secret leaked" }, summary: { counts: {}, steps: [], policyViolations: [], outputs: { k: "hunter2-secret" } } });
        const raw = fs.readFileSync(path.join(dir, "jobs.sqlite")).toString("latin1") + (fs.existsSync(path.join(dir, "jobs.sqlite-wal")) ? fs.readFileSync(path.join(dir, "jobs.sqlite-wal")).toString("latin1") : "");
        assert.doesNotMatch(raw, /hunter2-secret|env-pass-phrase/);
        assert.equal(store.logPage(job.id, 0).lines[0].text, "token=[secret] pass=[secret]");
    });

    it("pages the log by cursor", () => {
        const job = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t" });
        for (let i = 1; i <= 5; i++) store.appendLog(job.id, `l${i}`);
        const first = store.logPage(job.id, 0, 2);
        assert.deepEqual(first.lines.map((l) => l.text), ["l1", "l2"]);
        const second = store.logPage(job.id, first.nextCursor, 10);
        assert.deepEqual(second.lines.map((l) => l.text), ["l3", "l4", "l5"]);
        assert.equal(store.logPage(job.id, second.nextCursor).lines.length, 0);
    });

    it("notifies event listeners of new events of their job only", () => {
        const a = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t" });
        const b = store.createJob({ stack: "dev", op: "preview", triggeredBy: "t" });
        const seen: number[] = [];
        const off = store.onEvent(a.id, (e) => seen.push(e.seq));
        store.appendEvent(a.id, "x", {});
        store.appendEvent(b.id, "x", {});
        off();
        store.appendEvent(a.id, "x", {});
        assert.deepEqual(seen, [1]);
    });
});
