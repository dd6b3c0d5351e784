import * as assert from "node:assert/strict";
import { AppError } from "../../automation/errors";
import { JobQueue } from "../../automation/jobs/queue";
import type { Job, Op } from "../../automation/jobs/types";

let n = 0;
const job = (stack: string, op: Op = "update"): Job => ({ id: `j${++n}`, stack, op, state: "queued", triggeredBy: "t", triggeredVia: "token", createdAt: "", options: {} });

/** A queue whose jobs run until the test finishes them, recording the order they start in. */
function harness(concurrency = 2, queueLimit = 5) {
    const started: string[] = [];
    const finishers = new Map<string, () => void>();
    const queue = new JobQueue({
        concurrency,
        queueLimit,
        run: (j) => {
            started.push(j.id);
            return new Promise<void>((resolve) => finishers.set(j.id, resolve));
        },
    });
    const finish = async (id: string) => {
        finishers.get(id)!();
        await new Promise((r) => setImmediate(r));
    };
    return { queue, started, finish };
}

describe("job queue", () => {
    it("runs one job per stack at a time, in arrival order", async () => {
        const { queue, started, finish } = harness(4);
        const [a, b, c] = [job("dev"), job("dev"), job("dev")];
        queue.enqueue(a);
        queue.enqueue(b);
        queue.enqueue(c);
        assert.deepEqual(started, [a.id]);
        await finish(a.id);
        assert.deepEqual(started, [a.id, b.id]);
        await finish(b.id);
        assert.deepEqual(started, [a.id, b.id, c.id]);
    });

    it("runs different stacks in parallel up to the global limit", async () => {
        const { queue, started, finish } = harness(2);
        const [d, p, s] = [job("dev"), job("prod"), job("stage")];
        [d, p, s].forEach((j) => queue.enqueue(j));
        assert.deepEqual(started, [d.id, p.id]);
        await finish(p.id);
        assert.deepEqual(started, [d.id, p.id, s.id]);
    });

    it("does not let a busy stack's line hold back another stack", async () => {
        const { queue, started } = harness(2);
        const [d1, d2, p] = [job("dev"), job("dev"), job("prod")];
        [d1, d2, p].forEach((j) => queue.enqueue(j));
        assert.deepEqual(started, [d1.id, p.id]);
    });

    it("supersedes waiting previews of the same stack with a newer one, but not other stacks' or other ops", () => {
        const { queue } = harness(1);
        queue.enqueue(job("dev"));
        const p1 = job("dev", "preview");
        const r = job("dev", "refresh");
        const other = job("prod", "preview");
        queue.enqueue(p1);
        queue.enqueue(r);
        queue.enqueue(other);
        const p2 = job("dev", "preview");
        assert.deepEqual(queue.enqueue(p2).map((j) => j.id), [p1.id]);
        assert.deepEqual(queue.waitingOn("dev").map((j) => j.id), [r.id, p2.id]);
        assert.equal(queue.waitingOn("prod").length, 1);
    });

    it("supersedes a waiting pull-request preview only with a newer preview of the same pull request", () => {
        const { queue } = harness(1);
        queue.enqueue(job("dev"));
        const pr = (n: number, sha: string) => ({ ...job("dev", "preview"), options: { source: { repository: "acme/infra", pullRequest: n, sha } } });
        const own = job("dev", "preview");
        const pr3 = pr(3, "a".repeat(40));
        const pr4 = pr(4, "b".repeat(40));
        queue.enqueue(own);
        queue.enqueue(pr3);
        queue.enqueue(pr4);
        const pr3b = pr(3, "c".repeat(40));
        assert.deepEqual(queue.enqueue(pr3b).map((j) => j.id), [pr3.id]);
        assert.deepEqual(queue.enqueue(job("dev", "preview")).map((j) => j.id), [own.id]);
        assert.deepEqual(queue.waitingOn("dev").map((j) => j.id).slice(0, 2), [pr4.id, pr3b.id]);
    });
    it("admits past the queue limit only a preview that replaces one of the same source", () => {
        const { queue } = harness(1, 2);
        queue.enqueue(job("dev"));
        queue.enqueue(job("dev", "preview"));
        queue.enqueue(job("dev", "refresh"));
        const source = { repository: "acme/infra", pullRequest: 3, sha: "a".repeat(40) };
        assert.doesNotThrow(() => queue.checkAdmission("dev", "preview"));
        assert.throws(() => queue.checkAdmission("dev", "preview", false, { source }), (e: AppError) => e.code === "QUEUE_FULL");
    });

    it("refuses with STACK_BUSY when noQueue meets a busy stack, and with QUEUE_FULL at the limit", () => {
        const { queue } = harness(2, 2);
        queue.enqueue(job("dev"));
        assert.throws(() => queue.checkAdmission("dev", "update", true), (e: AppError) => e.code === "STACK_BUSY" && e.status === 409);
        queue.checkAdmission("prod", "update", true);
        queue.enqueue(job("dev"));
        queue.enqueue(job("dev", "preview"));
        assert.throws(() => queue.checkAdmission("dev", "update"), (e: AppError) => e.code === "QUEUE_FULL");
        // A preview replacing the waiting preview does not lengthen the line.
        queue.checkAdmission("dev", "preview");
    });

    it("removes a waiting job so it never starts, and refuses to remove a running one", async () => {
        const { queue, started, finish } = harness(1);
        const [a, b] = [job("dev"), job("dev")];
        queue.enqueue(a);
        queue.enqueue(b);
        assert.equal(queue.remove(a.id), false);
        assert.equal(queue.remove(b.id), true);
        await finish(a.id);
        assert.deepEqual(started, [a.id]);
    });

    it("starts nothing new once paused and reports idle when the running jobs end", async () => {
        const { queue, started, finish } = harness(1);
        const [a, b] = [job("dev"), job("prod")];
        queue.enqueue(a);
        queue.enqueue(b);
        queue.pause();
        const idle = queue.idle();
        await finish(a.id);
        await idle;
        assert.deepEqual(started, [a.id]);
        assert.equal(queue.waitingCount, 1);
    });

    it("keeps going when a run rejects", async () => {
        const started: string[] = [];
        const queue = new JobQueue({ concurrency: 1, queueLimit: 5, run: async (j) => {
            started.push(j.id);
            throw new Error("boom");
        } });
        const [a, b] = [job("dev"), job("dev")];
        queue.enqueue(a);
        queue.enqueue(b);
        await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(started, [a.id, b.id]);
    });
});
