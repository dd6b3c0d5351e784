// What a notification's receiver reads (issue 24, item 6): with AUTOMATION_PUBLIC_URL, every
// payload names the job's link, the actor, the stack, the change counts and, for approvals, how
// many are still needed; a Slack-format destination gets Block Kit blocks with the same fields.
// The real service on the fixture, receivers on loopback.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ActionsBlock, ContextBlock, KnownBlock, SectionBlock } from "@slack/types";
import { addToken } from "../../automation/security/tokens";
import { startHarness, until, type Harness } from "./harness";
import { receiver } from "./receivers";

const PUBLIC_URL = "https://automation.example.com/ops";

interface Delivered {
    event: string;
    stack: string;
    actor: string;
    url: string | null;
    counts: { create: number; update: number; delete: number; replace: number } | null;
    job: { id: string; op: string; state: string; triggeredBy: string } | null;
    approvals?: { operation: string; required: number; given: number; stillNeeded: number };
    previewId?: string;
}

describe("notifications name the job's link, the actor, the stack, the counts and the approvals still needed", function () {
    this.timeout(300_000);
    let h: Harness;
    let generic: Awaited<ReturnType<typeof receiver>>;
    let slack: Awaited<ReturnType<typeof receiver>>;
    let ann: string;
    let bea: string;
    const payloads = () => generic.got.map((g) => JSON.parse(g.body) as Delivered);
    const messages = () => slack.got.map((g) => JSON.parse(g.body) as { text: string; blocks: KnownBlock[] });

    before(async () => {
        generic = await receiver([200]);
        slack = await receiver([200]);
        const env: Record<string, string> = { AUTOMATION_NOTIFY_WEBHOOK_URL: generic.url, AUTOMATION_PUBLIC_URL: `${PUBLIC_URL}/` };
        h = await startHarness({
            policies: { "prod.yaml": "operations:\n  update: { approvals: 2, approverRole: approver }\n" },
            env,
            prepare: (copy) => {
                env.AUTOMATION_NOTIFY_FILE = path.join(copy.dataDir, "..", "notify.yaml");
                fs.writeFileSync(env.AUTOMATION_NOTIFY_FILE, `destinations:\n  - name: team-channel\n    url: ${slack.url}\n    format: slack\n    events: [job.finished, approval.requested, approval.granted]\n`);
            },
        });
        ann = addToken(h.tokensFile, "ann-approver", "approver");
        bea = addToken(h.tokensFile, "bea-approver", "approver");
    });
    after(async () => {
        await h?.stop();
        generic?.close();
        slack?.close();
    });

    /** The Slack message whose button or fallback names `jobId`, with its blocks taken apart. */
    async function slackFor(event: string, jobId: string) {
        const m = await until(async () => messages().find((x) => x.text.startsWith(`[${event}]`) && x.text.includes(jobId)), `the Slack ${event} of ${jobId}`, 30_000);
        const [headline, facts, context, actions] = m.blocks as [SectionBlock, SectionBlock, ContextBlock, ActionsBlock];
        assert.deepEqual(m.blocks.map((b) => b.type), ["section", "section", "context", "actions"]);
        assert.equal(headline.text?.type, "mrkdwn");
        const fields = Object.fromEntries((facts.fields ?? []).map((f) => {
            assert.equal(f.type, "mrkdwn");
            const [label, ...value] = f.text.split("\n");
            return [label.replace(/\*/g, ""), value.join("\n")];
        }));
        assert.ok(context.elements.every((e) => e.type === "mrkdwn"));
        assert.equal(actions.elements.length, 1);
        const button = actions.elements[0];
        assert.equal(button.type, "button");
        return { m, headline: headline.text!.text, fields, context: (context.elements[0] as { text: string }).text, button: button as { text: { text: string }; url?: string } };
    }

    it("a finished preview: the job's link under the public URL, the operator who started it, the stack and the counts, to the webhook and in Slack blocks", async () => {
        const p = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        assert.equal(p.status, 202, JSON.stringify(p.body));
        assert.equal((await h.waitFor(p.body.id)).state, "succeeded");
        const got = await until(async () => payloads().find((x) => x.event === "job.finished" && x.job?.id === p.body.id), "the webhook's job.finished", 30_000);
        assert.equal(got.url, `${PUBLIC_URL}/#/jobs/${p.body.id}`);
        assert.equal(got.actor, "otto-operator");
        assert.equal(got.stack, "dev");
        // The stack and the fixture's two items, as the job itself counted them.
        assert.deepEqual(got.counts, { create: 3, update: 0, delete: 0, replace: 0 });
        assert.deepEqual(got.counts, { update: 0, delete: 0, replace: 0, ...(await h.server.store.getJob(p.body.id))!.summary!.counts });
        assert.deepEqual([got.job?.op, got.job?.state, got.job?.triggeredBy], ["preview", "succeeded", "otto-operator"]);

        const s = await slackFor("job.finished", p.body.id);
        assert.match(s.headline, /^The preview of \*dev\* succeeded$/);
        assert.equal(s.fields.Stack, "dev");
        assert.equal(s.fields.Actor, "otto-operator");
        assert.equal(s.fields.Job, `preview ${p.body.id} · succeeded`);
        assert.equal(s.fields.Changes, "+3 to create · ~0 to update · -0 to delete · ±0 to replace");
        assert.deepEqual([s.button.text.text, s.button.url], ["Open the job", `${PUBLIC_URL}/#/jobs/${p.body.id}`]);
        assert.doesNotMatch(s.context, /no link/);
    });

    it("an approval asked and given: how many are still needed each time, the approver as the actor, and a button to review", async () => {
        const p = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(p.body.id)).state, "succeeded");
        const asked = await until(async () => payloads().find((x) => x.event === "approval.requested" && x.job?.id === p.body.id), "approval.requested", 30_000);
        assert.deepEqual([asked.stack, asked.actor, asked.url], ["prod", "otto-operator", `${PUBLIC_URL}/#/jobs/${p.body.id}`]);
        assert.deepEqual(asked.approvals, { operation: "update", required: 2, given: 0, stillNeeded: 2 });
        assert.deepEqual(asked.counts, { update: 0, delete: 0, replace: 0, ...(await h.server.store.getJob(p.body.id))!.summary!.counts });
        assert.ok(asked.counts!.create >= 3, JSON.stringify(asked.counts));

        assert.equal((await h.call("POST", `/v1/jobs/${p.body.id}/approvals`, { token: ann, body: { decision: "approve" } })).status, 201);
        const first = await until(async () => payloads().find((x) => x.event === "approval.granted" && x.previewId === p.body.id && x.actor === "ann-approver"), "ann's approval.granted", 30_000);
        assert.deepEqual(first.approvals, { operation: "update", required: 2, given: 1, stillNeeded: 1 });
        assert.deepEqual([first.stack, first.url], ["prod", `${PUBLIC_URL}/#/jobs/${p.body.id}`]);
        assert.equal((await h.call("POST", `/v1/jobs/${p.body.id}/approvals`, { token: bea, body: { decision: "approve" } })).status, 201);
        const second = await until(async () => payloads().find((x) => x.event === "approval.granted" && x.previewId === p.body.id && x.actor === "bea-approver"), "bea's approval.granted", 30_000);
        assert.deepEqual(second.approvals, { operation: "update", required: 2, given: 2, stillNeeded: 0 });

        const s = await slackFor("approval.requested", p.body.id);
        assert.equal(s.fields.Approvals, "0 of 2 given · 2 still needed");
        assert.equal(s.fields.Stack, "prod");
        assert.deepEqual([s.button.text.text, s.button.url], ["Review and approve", `${PUBLIC_URL}/#/jobs/${p.body.id}`]);
        const granted = await until(async () => messages().find((x) => x.text.startsWith("[approval.granted] ann-approver")), "ann's Slack message", 30_000);
        const fields = ((granted.blocks[1] as SectionBlock).fields ?? []).map((f) => f.text);
        assert.ok(fields.includes("*Approvals*\n1 of 2 given · 1 still needed"), fields.join(" | "));
        assert.ok(fields.includes("*Actor*\nann-approver"), fields.join(" | "));
    });
});
