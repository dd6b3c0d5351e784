// The one route that takes a body without a token, attacked as a stranger would: large bodies
// announced and sent slowly, from one address, with and without a plausible signature, with
// webhooks off and on. Each is answered from the headers alone, before the body is read:
// the test sends the headers only and gets its answer while the body never comes.
import assert from "node:assert/strict";
import * as net from "node:net";
import { startHarness, type Harness } from "../harness";

const SECRET = "body-limits-webhook-secret-0123456789";
const MiB = 1024 * 1024;
const FORGED = `sha256=${"ab".repeat(32)}`;

/**
 * Sends a POST's headers (and `bodyBytes` of its body, no more), and resolves with the status
 * line the server answers with, or "no answer" after `waitMs`. The socket stays open meanwhile,
 * as a slow sender's would.
 */
function announce(url: string, headers: Record<string, string>, o: { bodyBytes?: number; waitMs?: number; path?: string } = {}): { answer: Promise<string>; socket: net.Socket } {
    const { port } = new URL(url);
    const socket = net.connect(Number(port), "127.0.0.1");
    const lines = [`POST ${o.path ?? "/v1/webhooks/github"} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Content-Type: application/json", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", ""];
    socket.write(lines.join("\r\n"));
    if (o.bodyBytes) socket.write(Buffer.alloc(o.bodyBytes, 0x20));
    const answer = new Promise<string>((resolve) => {
        let got = "";
        const timer = setTimeout(() => resolve("no answer"), o.waitMs ?? 5000);
        socket.on("data", (d) => {
            got += d.toString("latin1");
            const line = got.split("\r\n")[0];
            if (line.startsWith("HTTP/")) {
                clearTimeout(timer);
                resolve(line.split(" ").slice(1).join(" ") + (/\r\nretry-after: (\d+)/i.exec(got) ? ` retry-after=${/\r\nretry-after: (\d+)/i.exec(got)![1]}` : ""));
            }
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
            clearTimeout(timer);
            resolve(got ? got.split("\r\n")[0] : "closed");
        });
    });
    return { answer, socket };
}

describe("webhook bodies are judged by their headers before a byte is read", function () {
    this.timeout(120_000);

    describe("with webhooks off", () => {
        let h: Harness;
        before(async () => (h = await startHarness()));
        after(async () => h?.stop());

        it("answers 404 to a 25 MB delivery at once, without waiting for (or reading) its body", async () => {
            const { answer, socket } = announce(h.url, { "Content-Length": String(25 * MiB), "X-Hub-Signature-256": FORGED, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1" });
            assert.match(await answer, /^404 /);
            socket.destroy();
        });
    });

    describe("with webhooks on", () => {
        let h: Harness;
        before(async () => {
            h = await startHarness({ env: { AUTOMATION_GITHUB_WEBHOOK_SECRET: SECRET, AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" } });
        });
        after(async () => h?.stop());

        it("answers 401 to a delivery without a signature at once, without reading its body", async () => {
            const { answer, socket } = announce(h.url, { "Content-Length": String(25 * MiB), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-2" });
            assert.match(await answer, /^401 /);
            socket.destroy();
        });
        it("answers 413 to a body announced larger than the limit, and 411 to one of unannounced length", async () => {
            const big = announce(h.url, { "Content-Length": String(26 * MiB), "X-Hub-Signature-256": FORGED, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-3" });
            assert.match(await big.answer, /^413 /);
            big.socket.destroy();
            const chunked = announce(h.url, { "Transfer-Encoding": "chunked", "X-Hub-Signature-256": FORGED, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-4" });
            assert.match(await chunked.answer, /^411 /);
            chunked.socket.destroy();
        });
        it("reads at most two bodies at once from one address: the rest get 503 with Retry-After, before their bodies come", async () => {
            // Each sends a megabyte of a 20 MB body and stalls, as a slow stranger would.
            const slow = Array.from({ length: 6 }, (_, i) =>
                announce(h.url, { "Content-Length": String(20 * MiB), "X-Hub-Signature-256": FORGED, "X-GitHub-Event": "push", "X-GitHub-Delivery": `d-slow-${i}` }, { bodyBytes: MiB, waitMs: 3000 }),
            );
            const answers = await Promise.all(slow.map((s) => s.answer));
            assert.deepEqual(answers.filter((a) => a === "no answer").length, 2, answers.join("\n"));
            assert.deepEqual(answers.filter((a) => /^503 .*retry-after=5$/.test(a)).length, 4, answers.join("\n"));
            for (const s of slow) s.socket.destroy();
            // Their places are given back when they go: a real, signed delivery is read again.
            await new Promise((r) => setTimeout(r, 200));
            const small = announce(h.url, { "Content-Length": "2", "X-Hub-Signature-256": FORGED, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-after" }, { bodyBytes: 2 });
            assert.match(await small.answer, /^401 /, "read and found unsigned, not refused as busy");
            small.socket.destroy();
        });
        it("matches paths case-sensitively: an upper-case path is no route, and is not run under one spelling and audited under another", async () => {
            const upper = await h.call("POST", "/V1/STACKS/dev/refreshes", { token: h.tokens.operator, body: {} });
            assert.equal(upper.status, 404, JSON.stringify(upper.body));
            const lower = await h.call("POST", "/v1/stacks/dev/refreshes", { token: h.tokens.operator, body: {} });
            assert.equal(lower.status, 202);
            await h.waitFor(lower.body.id);
            const audit = await h.call("GET", "/v1/audit?action=http.post", { token: h.tokens.admin });
            const refreshes = audit.body.entries.filter((e: { details: { path: string } }) => /refreshes$/i.test(e.details.path));
            assert.deepEqual(refreshes.map((e: { stack: string; details: { path: string } }) => [e.details.path, e.stack]), [["/v1/stacks/dev/refreshes", "dev"]]);
        });

        it("records the path as routed: an absolute-form request line and a trailing slash do not run under another spelling", async () => {
            const slash = await h.call("POST", "/v1/stacks/dev/previews/", { token: h.tokens.operator, body: {} });
            assert.equal(slash.status, 404, "no route with a trailing slash");
            const { port } = new URL(h.url);
            // A request line carrying an absolute URL, as a proxy would send it.
            const raw = await new Promise<string>((resolve) => {
                const socket = net.connect(Number(port), "127.0.0.1", () => {
                    const body = "{}";
                    socket.write(`POST http://elsewhere.example/v1/stacks/prod/refreshes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.tokens.operator}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
                });
                let got = "";
                socket.on("data", (d) => (got += d.toString()));
                socket.on("close", () => resolve(got));
            });
            assert.match(raw, /^HTTP\/1\.1 202/);
            const jobId = /"id":"([^"]+)"/.exec(raw)![1];
            await h.waitFor(jobId);
            const audit = await h.call("GET", "/v1/audit?action=http.post&stack=prod", { token: h.tokens.admin });
            const entry = audit.body.entries.find((e: { jobId?: string }) => e.jobId === jobId);
            assert.deepEqual([entry?.details.path, entry?.stack], ["/v1/stacks/prod/refreshes", "prod"]);
        });
    });
});
