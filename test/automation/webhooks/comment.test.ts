import assert from "node:assert/strict";
import type { Job } from "../../../automation/jobs/types";
import { COMMENT_LIMIT, formatPreviewComment, markerFor, splitComment } from "../../../automation/webhooks/comment";

const job = (steps: number, logLines: number): { job: Job; log: string[] } => ({
    job: {
        id: "j1",
        stack: "prod",
        op: "preview",
        state: "succeeded",
        triggeredBy: "github:octo", triggeredVia: "token",
        createdAt: "2026-11-25T10:00:00Z",
        options: {},
        summary: {
            counts: { create: steps, same: 4 },
            steps: Array.from({ length: steps }, (_, i) => ({ urn: `urn:pulumi:prod::p::t::item-${i}`, type: "t", op: "create" })),
            policyViolations: [{ policyPack: "pack", policyName: "no-public-db", enforcementLevel: "advisory", message: "db is public\nmore" }],
        },
    },
    log: Array.from({ length: logLines }, (_, i) => `line ${i} ${"x".repeat(80)}`),
});

describe("PR comment", () => {
    it("reports the outcome, the counts without unchanged resources, the steps and policy findings", () => {
        const { job: j, log } = job(2, 3);
        const text = formatPreviewComment({ job: j, log, sha: "0123456789abcdef" });
        assert.match(text, /### Pulumi preview of `prod`: succeeded at 0123456789ab/);
        assert.match(text, /\| create \| 2 \|/);
        assert.doesNotMatch(text, /\| same \|/);
        assert.match(text, /\+ create urn:pulumi:prod::p::t::item-1/);
        assert.match(text, /- \[advisory\] pack\/no-public-db: db is public$/m);
    });
    it("labels what a refresh found as drift, apart from the change planned for the same resource", () => {
        const { job: j } = job(0, 0);
        const urn = "urn:pulumi:prod::p::t::item-0";
        j.summary!.steps = [{ urn, type: "t", op: "update", drift: true }, { urn, type: "t", op: "update" }];
        const text = formatPreviewComment({ job: j, log: [] });
        assert.match(text, /^~ update \(drift\) urn:pulumi:prod::p::t::item-0$/m);
        assert.match(text, /^~ update urn:pulumi:prod::p::t::item-0$/m);
    });
    it("fits a short report in one part that starts with the stack's marker", () => {
        const parts = splitComment(formatPreviewComment(job(1, 1)), markerFor("prod"));
        assert.equal(parts.length, 1);
        assert.ok(parts[0].startsWith(markerFor("prod")));
    });
    it("splits a long log into parts under GitHub's limit, each marked and with balanced code fences, losing no line", () => {
        const { job: j, log } = job(50, 3000);
        const parts = splitComment(formatPreviewComment({ job: j, log }), markerFor("prod"));
        assert.ok(parts.length >= 4, `only ${parts.length} parts`);
        for (const p of parts) {
            assert.ok(p.length <= COMMENT_LIMIT, `part of ${p.length} chars`);
            assert.ok(p.startsWith(markerFor("prod")));
            assert.equal((p.match(/^```/gm) ?? []).length % 2, 0, "unbalanced fence");
        }
        const joined = parts.join("\n");
        for (const l of [log[0], log[1500], log[2999]]) assert.ok(joined.includes(l));
    });
    it("cuts a single line longer than a part", () => {
        const parts = splitComment("y".repeat(5000), "<!-- m -->", 1000);
        assert.ok(parts.every((p) => p.length <= 1000));
        assert.equal(parts.join("").split("y").length - 1, 5000);
    });
});
