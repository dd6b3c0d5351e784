// Starts the real service (real CLI, real file:// backend, real worker processes) on a private
// copy of the fixture project, with a token per role, for the HTTP integration tests.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../../automation/config";
import type { Job } from "../../automation/jobs/types";
import { silentLogger } from "../../automation/logger";
import { RunningServer, ServerOverrides, startServer } from "../../automation/server";
import { addToken } from "../../automation/security/tokens";

const fixture = path.resolve(__dirname, "../fixture/project");
const stateRoot = path.join(__dirname, ".state");

export interface Harness {
    url: string;
    projectDir: string;
    dataDir: string;
    server: RunningServer;
    tokens: { viewer: string; operator: string; admin: string };
    call(method: string, url: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
    waitFor(jobId: string, done?: (job: Job) => boolean, timeoutMs?: number): Promise<Job>;
    /** Rewrites a stack's Pulumi.<stack>.yaml config (namespace `fixture`). */
    configure(stack: string, config: Record<string, string | number>): void;
    restart(overrides?: ServerOverrides): Promise<void>;
    stop(): Promise<void>;
}

export async function startHarness(opts: { env?: Record<string, string>; overrides?: ServerOverrides } = {}): Promise<Harness> {
    fs.mkdirSync(stateRoot, { recursive: true });
    const root = fs.mkdtempSync(path.join(stateRoot, "svc-"));
    const projectDir = path.join(root, "project");
    fs.cpSync(fixture, projectDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}out`) });
    const dataDir = path.join(root, "data");
    const tokensFile = path.join(dataDir, "tokens.json");
    const tokens = {
        viewer: addToken(tokensFile, "vera-viewer", "viewer"),
        operator: addToken(tokensFile, "otto-operator", "operator"),
        admin: addToken(tokensFile, "ada-admin", "admin"),
    };
    const config = loadConfig({
        PORT: "0",
        AUTOMATION_PROJECT_DIR: projectDir,
        AUTOMATION_DATA_DIR: dataDir,
        PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase",
        AUTOMATION_CANCEL_GRACE_MS: "4000",
        AUTOMATION_SHUTDOWN_GRACE_MS: "500",
        ...opts.env,
    });
    const h: Harness = {
        url: "",
        projectDir,
        dataDir,
        server: undefined as unknown as RunningServer,
        tokens,
        async call(method, url, o = {}) {
            const headers: Record<string, string> = { ...o.headers };
            if (o.token) headers.authorization = `Bearer ${o.token}`;
            let body: string | undefined = o.raw;
            if (o.body !== undefined) {
                body = JSON.stringify(o.body);
                headers["content-type"] = "application/json";
            } else if (o.raw !== undefined) headers["content-type"] ??= "application/json";
            const res = await fetch(h.url + url, { method, headers, body });
            const text = await res.text();
            let parsed: unknown = text;
            try {
                parsed = JSON.parse(text);
            } catch {
                /* not JSON */
            }
            return { status: res.status, body: parsed, headers: res.headers };
        },
        async waitFor(jobId, done = (j) => !["queued", "running"].includes(j.state), timeoutMs = 90_000) {
            const until = Date.now() + timeoutMs;
            for (;;) {
                const job = h.server.service.store.getJob(jobId);
                if (job && done(job)) return job;
                if (Date.now() > until) throw new Error(`job ${jobId} still ${job?.state} after ${timeoutMs} ms`);
                await new Promise((r) => setTimeout(r, 100));
            }
        },
        configure(stack, values) {
            const lines = Object.entries(values).map(([k, v]) => `  fixture:${k}: ${JSON.stringify(String(v))}`);
            fs.writeFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
        },
        async restart(overrides) {
            await h.server.stop();
            h.server = await startServer(config, { logger: silentLogger(), ...opts.overrides, ...overrides });
            h.url = h.server.url;
        },
        async stop() {
            await h.server.stop();
        },
    };
    h.server = await startServer(config, { logger: silentLogger(), ...opts.overrides });
    h.url = h.server.url;
    return h;
}
