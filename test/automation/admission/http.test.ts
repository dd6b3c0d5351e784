// The reproduced bug of the old wiring, through the real service and CLI: a destroy and a
// refresh queued behind an update ran inside a freeze window added while they waited (only
// updates were re-checked when they left the queue). Now every operation is checked again.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { policyEditor } from "../approvals/editPolicy";
import { environmentsDirOf, Harness, startHarness } from "../harness";

describe("operations queued before a freeze window, on the real service", function () {
    this.timeout(180_000);
    let h: Harness;
    const edit = policyEditor(() => environmentsDirOf(h));

    before(async () => {
        h = await startHarness({ policies: { "dev.yaml": "operations:\n  destroy: { role: admin }\n" } });
    });
    after(() => h?.stop());

    it("fails a queued destroy and refresh with FROZEN when a freeze window for them begins while they wait, leaving the stack's files in place", async () => {
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal(up.status, 202);
        await h.waitFor(up.body.id);
        const out = path.join(h.projectDir, "out", "dev");
        const files = fs.readdirSync(out).sort();
        assert.equal(files.length, 2);
        // a slow update holds the stack while the destroy and the refresh wait behind it
        h.configure("dev", { count: 2, content: "v2", delayMs: 1500 });
        const holder = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        const destroy = await h.call("POST", "/v1/stacks/dev/destroys", { token: h.tokens.admin, body: { confirm: "dev" } });
        const refresh = await h.call("POST", "/v1/stacks/dev/refreshes", { token: h.tokens.operator, body: { mode: "apply" } });
        assert.deepEqual([holder.status, destroy.status, refresh.status], [202, 202, 202]);
        assert.deepEqual([destroy.body.state, refresh.body.state], ["queued", "queued"]);
        edit("dev.yaml", "operations:\n  destroy: { role: admin }\nfreezeWindows:\n  - { start: '2000-01-01T00:00:00Z', end: '2999-01-01T00:00:00Z', operations: [destroy, refresh], reason: incident review }\n");
        assert.equal((await h.waitFor(holder.body.id)).state, "succeeded");
        for (const id of [destroy.body.id, refresh.body.id]) {
            const job = await h.waitFor(id);
            assert.deepEqual([job.state, job.error?.code, job.startedAt], ["failed", "FROZEN", undefined], JSON.stringify(job.error));
            assert.match(job.error!.message, /incident review/);
        }
        assert.deepEqual(fs.readdirSync(out).sort(), files, "the destroy never ran");
        const audit = await h.call("GET", "/v1/audit?action=job.destroy", { token: h.tokens.admin });
        assert.deepEqual(audit.body.entries.map((e: { result: string }) => e.result), ["failed"]);
    });
});
