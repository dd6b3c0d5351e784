import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parsePolicy, PolicyError, policyInvalid } from "../../../automation/environments/policy";
import { sqliteDb } from "../../../automation/storage/db";
import { openSqlite } from "../../../automation/storage/sqlite";
import { openDurableStores } from "../../../automation/storage/stores";
import { DeliveryStore } from "../../../automation/webhooks/deliveries";
import type { DatabaseSync } from "node:sqlite";
import type { Principal } from "../../../automation/security/roles";
import { AuditLog } from "../../../automation/audit/fileLog";
import { needsRepair } from "../../../automation/errors";
import type { Job, JobOptions, Op } from "../../../automation/jobs/types";
import { createRedactor } from "../../../automation/security/redact";
import { markerFor } from "../../../automation/webhooks/comment";
import { GitHubClient, upsertComments } from "../../../automation/webhooks/github";
import { WebhookDeps, WebhookHandler } from "../../../automation/webhooks/handler";

const SECRET = "webhook-secret-0123456789";

/** A stand-in for api.github.com's issue comments on 127.0.0.1, recording every request. */
/** GitHub's comment API for PR 7, as the account "automation-bot"; `authors` holds who wrote each comment (default: the bot). */
async function fakeGitHub(): Promise<{ url: string; comments: Map<number, string>; authors: Map<number, string>; requests: { method: string; url: string; auth?: string }[]; close(): Promise<void> }> {
    const comments = new Map<number, string>();
    const authors = new Map<number, string>();
    const requests: { method: string; url: string; auth?: string }[] = [];
    let next = 100;
    const server: Server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
            const json = (status: number, v: unknown) => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
            const m = /\/issues\/comments\/(\d+)$/.exec(req.url!);
            if (req.method === "GET" && req.url === "/user") json(200, { login: "automation-bot" });
            else if (req.method === "GET" && /\/issues\/7\/comments/.test(req.url!)) json(200, [...comments].map(([id, b]) => ({ id, body: b, user: { login: authors.get(id) ?? "automation-bot" } })));
            else if (req.method === "POST" && /\/issues\/7\/comments$/.test(req.url!)) {
                const id = next++;
                comments.set(id, JSON.parse(body).body);
                json(201, { id, body: comments.get(id) });
            } else if (req.method === "PATCH" && m && comments.has(Number(m[1]))) {
                comments.set(Number(m[1]), JSON.parse(body).body);
                json(200, { id: Number(m[1]), body: comments.get(Number(m[1])) });
            } else json(404, { message: "Not Found" });
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, comments, authors, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe("GitHub client", () => {
    it("creates the comment parts once, then updates them in place and marks parts no longer needed superseded", async () => {
        const gh = await fakeGitHub();
        try {
            const client = new GitHubClient({ token: "ghp_" + "t".repeat(36), apiUrl: gh.url });
            gh.comments.set(1, "someone else's comment");
            const marker = markerFor("prod");
            assert.deepEqual(await upsertComments(client, "acme/infra", 7, marker, [`${marker} a`, `${marker} b`]), { created: 2, updated: 0 });
            assert.deepEqual(await upsertComments(client, "acme/infra", 7, marker, [`${marker} c`]), { created: 0, updated: 2 });
            assert.deepEqual([...gh.comments.values()], ["someone else's comment", `${marker} c`, `${marker}\n_Superseded by a newer preview above._`]);
            assert.ok(gh.requests.every((r) => r.auth === `Bearer ghp_${"t".repeat(36)}`));
        } finally {
            await gh.close();
        }
    });
    it("never edits a comment another account wrote, even one that carries the service's marker", async () => {
        const gh = await fakeGitHub();
        try {
            const client = new GitHubClient({ token: "t", apiUrl: gh.url });
            const marker = markerFor("prod");
            gh.comments.set(1, `${marker} planted by mallory`);
            gh.authors.set(1, "mallory");
            assert.deepEqual(await upsertComments(client, "acme/infra", 7, marker, [`${marker} preview`]), { created: 1, updated: 0 });
            assert.equal(gh.comments.get(1), `${marker} planted by mallory`);
            assert.equal(gh.requests.filter((r) => r.url === "/user").length, 1, "the account is asked once");
            await upsertComments(client, "acme/infra", 7, marker, [`${marker} again`]);
            assert.equal(gh.requests.filter((r) => r.url === "/user").length, 1);
        } finally {
            await gh.close();
        }
    });
    it("fails with the status when GitHub refuses", async () => {
        const gh = await fakeGitHub();
        try {
            const client = new GitHubClient({ token: "x", apiUrl: gh.url });
            await assert.rejects(client.updateComment("acme/infra", 999, "x"), /answered 404/);
        } finally {
            await gh.close();
        }
    });
});

describe("GitHub webhook deliveries", () => {
    let dir: string;
    let store: DeliveryStore;
    let db: DatabaseSync;
    let audit: AuditLog;
    let submitted: { stack: string; op: Op; options: JobOptions; principal: Principal }[];
    /** Stacks the fake service refuses as the real one does a stack that needs repair. */
    let needingRepair: Set<string>;
    let handler: WebhookHandler;
    let deps: WebhookDeps;
    let gh: Awaited<ReturnType<typeof fakeGitHub>>;
    const policies = {
        dev: parsePolicy("dev", "github: { updateOnPush: true }\n"),
        prod: parsePolicy("prod", "operations:\n  update: { approvals: 1 }\n"),
        sandbox: parsePolicy("sandbox", "github: { previewOnPullRequest: false }\n"),
    };
    const logs = new Map<string, string[]>();

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hooks-"));
        db = openSqlite(path.join(dir, "safety.sqlite"), { durable: true });
        store = (await openDurableStores(sqliteDb(db), "sqlite", "safety.sqlite")).deliveries;
        audit = new AuditLog(path.join(dir, "audit.jsonl"));
        submitted = [];
        needingRepair = new Set();
        gh = await fakeGitHub();
        handler = new WebhookHandler((deps = {
            config: { secret: SECRET, repositories: ["acme/infra"] },
            store,
            audit,
            refusals: { record: (_status, r) => void audit.append(r) },
            stacks: () => ["dev", "prod", "sandbox"],
            policyOf: (s) => policies[s as keyof typeof policies],
            submit: async (input) => {
                if (needingRepair.has(input.stack)) throw needsRepair(input.stack, input.op, []);
                submitted.push(input);
                return { id: randomUUID(), stack: input.stack, op: input.op, state: "queued", triggeredBy: input.principal.name, triggeredVia: input.principal.via, createdAt: "", options: input.options };
            },
            github: new GitHubClient({ token: "t", apiUrl: gh.url }),
            jobLog: async (id) => logs.get(id) ?? [],
            redact: createRedactor({ secrets: ["planted-secret-value"] }).redact,
        }));
    });
    afterEach(async () => {
        db.close();
        audit.close();
        await gh.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const deliver = (event: string, payload: object, opts: { secret?: string; delivery?: string; tamper?: boolean } = {}) => {
        const raw = Buffer.from(JSON.stringify(payload));
        const signature = "sha256=" + createHmac("sha256", opts.secret ?? SECRET).update(raw).digest("hex");
        const body = opts.tamper ? Buffer.from(JSON.stringify({ ...payload, injected: true })) : raw;
        return handler.handle({ signature, event, delivery: opts.delivery ?? randomUUID() }, body, "192.0.2.1");
    };
    const pr = { action: "opened", number: 7, repository: { full_name: "acme/infra" }, sender: { login: "octo" }, pull_request: { number: 7, head: { sha: "abcdef0123456789abcdef0123456789abcdef01", repo: { full_name: "acme/infra" } } } };
    const codeOf = async (p: Promise<unknown>) => p.then(() => "none", (e: { code: string }) => e.code);

    it("previews every stack whose policy asks for it when a pull request opens", async () => {
        const r = await deliver("pull_request", pr);
        assert.equal(r.status, 202);
        assert.deepEqual(submitted.map((s) => [s.stack, s.op, s.principal.name, s.principal.via]), [["dev", "preview", "github:octo", "webhook"], ["prod", "preview", "github:octo", "webhook"]]);
    });
    it("previews the pull request's head commit, not the service's checkout", async () => {
        await deliver("pull_request", pr);
        const source = { repository: "acme/infra", pullRequest: 7, sha: pr.pull_request.head.sha };
        assert.deepEqual(submitted.map((s) => s.options.source), [source, source]);
    });
    it("refuses to preview a pull request from a fork unless forks are allowed, naming the fork", async () => {
        const fork = { ...pr, pull_request: { ...pr.pull_request, head: { ...pr.pull_request.head, repo: { full_name: "mallory/infra" } } } };
        const r = await deliver("pull_request", fork);
        assert.equal(r.status, 200);
        assert.equal(submitted.length, 0);
        assert.deepEqual(r.body.refused?.map((x) => [x.stack, x.code]), [["dev", "FORK_NOT_ALLOWED"], ["prod", "FORK_NOT_ALLOWED"]]);
        assert.match(r.body.refused![0].message, /mallory\/infra/);
        handler = new WebhookHandler({ ...deps, config: { ...deps.config, allowForks: true } });
        assert.equal((await deliver("pull_request", { ...fork, action: "synchronize" })).status, 202);
        assert.equal(submitted.length, 2);
    });
    it("answers 400 to a pull request delivery without a full head sha and starts nothing", async () => {
        const bad = { ...pr, pull_request: { ...pr.pull_request, head: { ...pr.pull_request.head, sha: "abc; rm -rf /" } } };
        assert.equal(await codeOf(deliver("pull_request", bad)), "BAD_REQUEST");
        assert.equal(submitted.length, 0);
    });
    it("refuses the same signed body replayed under a new delivery id with 409, starting nothing the second time", async () => {
        assert.equal((await deliver("pull_request", pr, { delivery: "first-id" })).status, 202);
        assert.equal(submitted.length, 2);
        assert.equal(await codeOf(deliver("pull_request", pr, { delivery: "a-fresh-id" })), "DUPLICATE_DELIVERY");
        assert.equal(submitted.length, 2);
    });
    it("does not use up the id of a delivery it rejected as invalid, and audits the rejection", async () => {
        const bad = { ...pr, pull_request: { ...pr.pull_request, head: { ...pr.pull_request.head, sha: "short" } } };
        assert.equal(await codeOf(deliver("pull_request", bad, { delivery: "retried-id" })), "BAD_REQUEST");
        assert.equal((await deliver("pull_request", pr, { delivery: "retried-id" })).status, 202);
        const rejected = audit.page({ action: "webhook.rejected" }).entries.map((e) => [e.result, e.details?.delivery]);
        assert.deepEqual(rejected, [["BAD_REQUEST", "retried-id"]]);
    });
    it("records bad signatures through the sampler, not one audit entry each, and starts nothing", async () => {
        const recorded: [number, string][] = [];
        handler = new WebhookHandler({ ...deps, refusals: { record: (status, r) => void recorded.push([status, r.result]) } });
        for (let i = 0; i < 3; i++) assert.equal(await codeOf(deliver("pull_request", pr, { secret: "wrong-secret" })), "BAD_SIGNATURE");
        assert.deepEqual(recorded, [[401, "BAD_SIGNATURE"], [401, "BAD_SIGNATURE"], [401, "BAD_SIGNATURE"]]);
        assert.equal(audit.page({ action: "webhook.rejected" }).entries.length, 0);
        assert.equal(submitted.length, 0);
    });
    it("still previews the other stacks when one refuses (needs repair), listing the refusal in the answer and the audit log", async () => {
        needingRepair.add("dev");
        const r = await deliver("pull_request", pr);
        assert.equal(r.status, 202);
        assert.deepEqual(r.body.jobs.map((j) => j.stack), ["prod"]);
        assert.deepEqual(r.body.refused?.map((x) => [x.stack, x.op, x.code]), [["dev", "preview", "NEEDS_REPAIR"]]);
        const entry = audit.page({ action: "webhook.pull_request" }).entries.at(-1);
        assert.equal((entry?.details as { refused?: { code: string }[] }).refused?.[0].code, "NEEDS_REPAIR");
    });

    it("records a delivery as handled only once every stack got its job: GitHub's redelivery of it runs what was refused, and nothing twice", async () => {
        needingRepair.add("dev");
        const first = await deliver("pull_request", pr, { delivery: "redelivered" });
        assert.deepEqual([first.body.jobs.map((j) => j.stack), first.body.refused?.map((x) => x.code)], [["prod"], ["NEEDS_REPAIR"]]);
        // Repaired meanwhile; GitHub redelivers the same delivery (same id, same signed body).
        needingRepair.delete("dev");
        const again = await deliver("pull_request", pr, { delivery: "redelivered" });
        assert.equal(again.status, 202, JSON.stringify(again.body));
        assert.deepEqual(again.body.jobs.map((j) => j.stack), ["dev"], "only the stack that was refused");
        assert.deepEqual(again.body.alreadyRan?.map((x) => [x.stack, x.job]), [["prod", first.body.jobs[0].id]]);
        assert.deepEqual(submitted.map((x) => x.stack).sort(), ["dev", "prod"], "prod got one preview, not two");
        assert.equal(await codeOf(deliver("pull_request", pr, { delivery: "redelivered" })), "DUPLICATE_DELIVERY", "handled now");
    });
    it("gives each stack one job when two attempts of one delivery arrive at once", async () => {
        const raw = Buffer.from(JSON.stringify(pr));
        const signature = "sha256=" + createHmac("sha256", SECRET).update(raw).digest("hex");
        const both = await Promise.allSettled([0, 1].map(() => handler.handle({ signature, event: "pull_request", delivery: "twice-at-once" }, raw, "192.0.2.1")));
        assert.deepEqual(submitted.map((x) => x.stack).sort(), ["dev", "prod"]);
        assert.ok(both.every((b) => b.status === "fulfilled" || (b.reason as { code: string }).code === "DUPLICATE_DELIVERY"), JSON.stringify(both));
    });

    it("refuses by name a stack whose policy file does not validate and still runs the others, for pull requests and pushes", async () => {
        const invalid = (stack: string) => policyInvalid(stack, new PolicyError(`${stack}.yaml`, ["github.branch: expected string"]));
        deps.policyOf = (s) => {
            if (s === "dev") throw invalid(s);
            return policies[s as keyof typeof policies];
        };
        const r = await deliver("pull_request", pr);
        assert.deepEqual(r.body.jobs.map((j) => j.stack), ["prod"]);
        assert.deepEqual(r.body.refused?.map((x) => [x.stack, x.op, x.code]), [["dev", "preview", "POLICY_INVALID"]]);
        deps.policyOf = (s) => {
            if (s === "prod") throw invalid(s);
            return policies[s as keyof typeof policies];
        };
        const push = await deliver("push", { ref: "refs/heads/main", after: "0".repeat(40), repository: { full_name: "acme/infra" } });
        assert.deepEqual(push.body.jobs.map((j) => [j.stack, j.op]), [["dev", "update"]]);
        assert.deepEqual(push.body.refused?.map((x) => [x.stack, x.op, x.code]), [["prod", "update", "POLICY_INVALID"]]);
    });

    it("refuses a bad signature, a tampered body and a missing signature with 401 and starts nothing", async () => {
        assert.equal(await codeOf(deliver("pull_request", pr, { secret: "wrong-secret-0123456789" })), "BAD_SIGNATURE");
        assert.equal(await codeOf(deliver("pull_request", pr, { tamper: true })), "BAD_SIGNATURE");
        assert.equal(await codeOf(handler.handle({ event: "pull_request", delivery: "d1" }, Buffer.from("{}"), "x")), "BAD_SIGNATURE");
        assert.equal(submitted.length, 0);
        assert.equal(audit.page({ action: "webhook.rejected" }).entries.length, 3);
    });
    it("refuses a replayed delivery id with 409 and starts nothing the second time", async () => {
        await deliver("pull_request", pr, { delivery: "same-delivery" });
        const before = submitted.length;
        assert.equal(await codeOf(deliver("pull_request", pr, { delivery: "same-delivery" })), "DUPLICATE_DELIVERY");
        assert.equal(submitted.length, before);
    });
    it("refuses a repository outside the allow-list with 403 and starts nothing", async () => {
        assert.equal(await codeOf(deliver("pull_request", { ...pr, repository: { full_name: "evil/fork" } })), "REPOSITORY_NOT_ALLOWED");
        assert.equal(submitted.length, 0);
    });
    it("updates only the stacks that update on pushes, and only for their branch", async () => {
        await deliver("push", { ref: "refs/heads/main", after: "0123456789abcdef", repository: { full_name: "acme/infra" }, sender: { login: "octo" } });
        assert.deepEqual(submitted.map((s) => [s.stack, s.op]), [["dev", "update"]]);
        const other = await deliver("push", { ref: "refs/heads/feature", repository: { full_name: "acme/infra" }, sender: { login: "octo" } });
        assert.equal(other.status, 200);
        assert.equal(submitted.length, 1);
    });
    it("answers a ping without starting anything", async () => {
        const r = await deliver("ping", { zen: "x", repository: { full_name: "acme/infra" } });
        assert.deepEqual([r.status, r.body.ignored], [200, "pong"]);
    });
    it("posts the finished preview on the PR with planted secrets redacted", async () => {
        const r = await deliver("pull_request", pr);
        const id = r.body.jobs[0].id;
        logs.set(id, ["creating token.txt with planted-secret-value"]);
        const finished: Job = { id, stack: "dev", op: "preview", state: "succeeded", triggeredBy: "github:octo", triggeredVia: "webhook", createdAt: "", options: {}, summary: { counts: { create: 1 }, steps: [], policyViolations: [] } };
        await handler.jobFinished(finished);
        const posted = [...gh.comments.values()];
        assert.equal(posted.length, 1);
        assert.match(posted[0], /Pulumi preview of `dev`: succeeded/);
        assert.ok(!posted[0].includes("planted-secret-value"));
        assert.ok(posted[0].includes("[secret]"));
    });
});
