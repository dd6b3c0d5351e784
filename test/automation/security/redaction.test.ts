// A planted secret config value, a secret output and a credential in the workers' environment
// must be absent from every sink: job JSON, job log, SSE, audit log, server log, PR comment.
// Real service, real CLI; the fixture's non-secret config is made to carry the planted values
// so that the engine's own events, outputs and error messages contain them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../../../automation/config";
import { createLogger } from "../../../automation/logger";
import { RunningService, startService } from "../../../automation/assembly";
import { createRedactor } from "../../../automation/security/redact";
import { call, commentSink, prepareFixture, publishPullRequest, pullRequestDelivery, until } from "../harness";
import { readSse } from "../sse";

describe("redaction of planted secrets from every sink (real CLI)", function () {
    this.timeout(300_000);
    const SECRET_CONFIG = `cfgsecret${randomUUID().slice(0, 8)}`;
    const ENV_CREDENTIAL = `envcred${randomUUID().slice(0, 12)}`;
    // The fixture's tokenNested.token: a secret output no config value gives away.
    const DERIVED_SECRET = [...SECRET_CONFIG].reverse().join("");
    const WEBHOOK_SECRET = "webhook-secret-0123456789abcdef";
    const fx = prepareFixture();
    const serverLog: string[] = [];
    let comments: string[] = [];
    let gh: Awaited<ReturnType<typeof commentSink>>;
    let server: RunningService | undefined;
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    let cli: (...args: string[]) => void;
    let headSha: string;
    const api = (method: string, url: string, o: Parameters<typeof call>[3] = {}) => call(server!.url, method, url, o);
    const waitJob = (id: string) =>
        until(async () => {
            const j = await server!.store.getJob(id);
            return j && !["queued", "running"].includes(j.state) ? j : undefined;
        }, `job ${id}`, 180_000);
    const assertClean = (what: string, text: string) => {
        assert.ok(!text.includes(SECRET_CONFIG), `${what} holds the secret config value`);
        assert.ok(!text.includes(ENV_CREDENTIAL), `${what} holds the environment credential`);
        assert.ok(!text.includes(DERIVED_SECRET), `${what} holds the secret the program derived`);
    };

    before(async () => {
        gh = await commentSink();
        comments = gh.comments;
        const envDir = path.join(fx.dataDir, "environments");
        fs.mkdirSync(envDir, { recursive: true });
        fs.writeFileSync(path.join(envDir, "prod.yaml"), "github: { previewOnPullRequest: true }\n");
        const env = {
            PORT: "0",
            AUTOMATION_PROJECT_DIR: fx.projectDir,
            AUTOMATION_DATA_DIR: fx.dataDir,
            PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase",
            AUTOMATION_ENVIRONMENTS_DIR: envDir,
            AUTOMATION_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
            AUTOMATION_GITHUB_REPOSITORIES: "acme/infra",
            AUTOMATION_GITHUB_TOKEN: "ghp_" + "k".repeat(36),
            AUTOMATION_GITHUB_API_URL: gh.url,
            AUTOMATION_GITHUB_GIT_URL: `file://${path.join(path.dirname(fx.dataDir), "remotes")}/{repository}.git`,
        };
        // The workers inherit the service's environment, credential included.
        process.env.AWS_SECRET_ACCESS_KEY = ENV_CREDENTIAL;
        const config = loadConfig({ ...process.env, ...env });
        cli = (...args: string[]) => {
            const r = spawnSync(path.join(config.pulumiBin, "pulumi"), [...args, "--non-interactive"], {
                cwd: fx.projectDir,
                encoding: "utf8",
                env: { ...process.env, PULUMI_BACKEND_URL: config.backendUrl, PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase", PULUMI_SKIP_UPDATE_CHECK: "true" },
            });
            assert.equal(r.status, 0, r.stderr);
        };
        fs.mkdirSync(config.backendUrl.slice("file://".length), { recursive: true });
        fs.rmSync(path.join(fx.projectDir, "Pulumi.prod.yaml"));
        cli("stack", "init", "prod");
        cli("config", "set", "--secret", "token", SECRET_CONFIG, "-s", "prod");
        // non-secret config carrying the planted values into file names, contents, outputs and errors
        cli("config", "set", "prefix", `item-${SECRET_CONFIG}`, "-s", "prod");
        cli("config", "set", "content", `content-${ENV_CREDENTIAL}`, "-s", "prod");
        // the webhook previews the pull request's head: this very project, published as PR #7
        ({ headSha } = publishPullRequest(fx.projectDir, path.join(path.dirname(fx.dataDir), "remotes"), { repository: "acme/infra", number: 7 }));
        // the server log exactly as the assembly builds it, captured instead of written to stdout
        const logger = createLogger({ level: "debug", redactor: createRedactor({ env: { ...process.env } }), destination: { write: (s: string) => void serverLog.push(s) } });
        server = await startService(config, { logger });
    });
    after(async () => {
        await server?.stop();
        await gh.close();
        if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
        else process.env.AWS_SECRET_ACCESS_KEY = saved;
    });

    let updateId: string;
    it("keeps them out of the PR comment of a webhook-triggered preview", async () => {
        const { raw, headers } = pullRequestDelivery(WEBHOOK_SECRET, { repository: "acme/infra", number: 7, sha: headSha });
        const r = await api("POST", "/v1/webhooks/github", { raw, headers });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const job = await waitJob(r.body.jobs[0].id);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        await until(() => (comments.length ? true : undefined), "PR comment");
        assert.match(comments[0], /Pulumi preview of `prod`/);
        assertClean("PR comment", comments.join("\n"));
    });
    it("keeps them out of a succeeded update's job JSON, log and SSE stream", async () => {
        const r = await api("POST", "/v1/stacks/prod/updates", { token: fx.tokens.operator, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        updateId = r.body.id;
        const job = await waitJob(updateId);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        const json = await api("GET", `/v1/jobs/${updateId}`, { token: fx.tokens.viewer });
        assert.equal(json.body.summary.outputs.tokenEcho, "[secret]");
        // A secret inside a plain output is masked where it sits; the rest of the output stays.
        // (The planted config value is masked by the redactor anyway; this one only by its mark.)
        assert.deepEqual(json.body.summary.outputs.tokenNested, { token: "[secret]", note: "plain" });
        // the planted value really reached the engine: the files exist under the secret-bearing names
        assert.ok(fs.readdirSync(path.join(fx.projectDir, "out", "prod")).some((f) => f.includes(SECRET_CONFIG)));
        assertClean("job JSON", JSON.stringify(json.body));
        const log = await api("GET", `/v1/jobs/${updateId}/log?limit=1000`, { token: fx.tokens.viewer });
        assert.ok(log.body.lines.length > 0);
        assertClean("job log", JSON.stringify(log.body));
        const events = await readSse(`${server!.url}/v1/jobs/${updateId}/events`, fx.tokens.viewer);
        assert.ok(events.length > 5);
        assertClean("SSE", JSON.stringify(events));
    });
    it("keeps them out of a failed update's error, log and the server log", async () => {
        // a create that fails with the secret-bearing file name in the provider's error message
        cli("config", "set", "count", "3", "-s", "prod");
        cli("config", "set", "failOn", "create", "-s", "prod");
        const r = await api("POST", "/v1/stacks/prod/updates", { token: fx.tokens.operator, body: {} });
        const job = await waitJob(r.body.id);
        assert.equal(job.state, "failed");
        assertClean("failed job", JSON.stringify(job));
        const log = await api("GET", `/v1/jobs/${job.id}/log?limit=1000`, { token: fx.tokens.viewer });
        const events = await readSse(`${server!.url}/v1/jobs/${job.id}/events`, fx.tokens.viewer);
        assert.ok(JSON.stringify(events).includes("refused to create"), `the provider's error is not in the events: ${JSON.stringify(job.error)} ${JSON.stringify(log.body).slice(0, 3000)}`);
        assertClean("failed job events", JSON.stringify(events));
        assertClean("failed job log", JSON.stringify(log.body));
        assert.ok(serverLog.some((l) => l.includes(job.id)));
        assertClean("server log", serverLog.join(""));
    });
    it("keeps them out of the audit log file and the audit API", async () => {
        const a = await api("GET", "/v1/audit?limit=500", { token: fx.tokens.admin });
        assert.ok(a.body.entries.length > 3);
        assertClean("audit API", JSON.stringify(a.body));
        assertClean("audit file", fs.readFileSync(path.join(fx.dataDir, "audit.jsonl"), "utf8"));
        for (const f of fs.readdirSync(fx.dataDir).filter((f) => f.startsWith("jobs.sqlite") || f.startsWith("safety.sqlite"))) {
            assertClean(`store file ${f}`, fs.readFileSync(path.join(fx.dataDir, f)).toString("latin1"));
        }
    });
});
