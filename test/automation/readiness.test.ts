import assert from "node:assert/strict";
import { failingChecks, notReadyMessage } from "../../automation/http/ops";

describe("the start-up log of a service that is not ready", () => {
    it("names each failing check with its detail, in the order /readyz lists them", () => {
        const report = {
            ready: false,
            checks: {
                cli: { ok: false, detail: "pulumi v3.100.0 (need ≥ v3.200.0)" },
                backend: { ok: true, detail: "writable" },
                plugins: { ok: false, detail: "missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0)" },
                store: { ok: false },
            },
        };
        assert.deepEqual(failingChecks(report), [
            { name: "cli", detail: "pulumi v3.100.0 (need ≥ v3.200.0)" },
            { name: "plugins", detail: "missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0)" },
            { name: "store", detail: "failed" },
        ]);
        assert.equal(
            notReadyMessage(report),
            "not ready: cli: pulumi v3.100.0 (need ≥ v3.200.0); plugins: missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0); store: failed. GET /readyz answers 503 and jobs may fail until these pass",
        );
    });

    it("says nothing when every check passes", () => {
        assert.equal(notReadyMessage({ ready: true, checks: { cli: { ok: true }, plugins: { ok: true, detail: "none needed" } } }), undefined);
        assert.deepEqual(failingChecks({ ready: true, checks: {} }), []);
    });
});
