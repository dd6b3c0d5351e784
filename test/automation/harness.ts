// Starts the real service (real CLI, real file:// backend, real worker processes) on a private
// copy of the fixture project, with a token per role, for the HTTP integration tests.
import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { loadConfig } from "../../automation/config";
import type { Job } from "../../automation/jobs/types";
import { silentLogger } from "../../automation/logger";
import { AssemblyOptions, RunningService, startService } from "../../automation/assembly";
import { addToken } from "../../automation/security/tokens";
import { conformanceProblem } from "./conformance";

const fixture = path.resolve(__dirname, "../fixture/project");
const stateRoot = path.join(__dirname, ".state");

export interface FixtureCopy {
    projectDir: string;
    dataDir: string;
    tokensFile: string;
    tokens: { viewer: string; operator: string; admin: string };
    /** Rewrites a stack's Pulumi.<stack>.yaml config (namespace `fixture`). */
    configure(stack: string, config: Record<string, string | number>): void;
}

let swept = false;

/**
 * Removes the copies of test runs that have ended (the pid in the name no longer runs), so
 * `.state/` holds the last run's copies for a look after a failure, not every run's.
 */
function sweepEndedRuns(): void {
    if (swept) return;
    swept = true;
    for (const name of fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot) : []) {
        const pid = Number(/^svc-(\d+)-/.exec(name)?.[1]);
        if (!pid || pid === process.pid) continue;
        try {
            process.kill(pid, 0);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ESRCH") fs.rmSync(path.join(stateRoot, name), { recursive: true, force: true });
        }
    }
}

const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8" }).trim();

/** A private copy of the fixture project plus a data dir holding a token per role. */
export function prepareFixture(): FixtureCopy {
    sweepEndedRuns();
    fs.mkdirSync(stateRoot, { recursive: true });
    const root = fs.mkdtempSync(path.join(stateRoot, `svc-${process.pid}-`));
    const projectDir = path.join(root, "project");
    // Without the fixture's own policies (environments/, for people trying it): a test states the policies it needs.
    fs.cpSync(fixture, projectDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}out`) && !src.startsWith(path.join(fixture, "environments")) });
    // A repository of its own, as a deployed project is: what an approval pins is its git tree.
    git(projectDir, "init", "-q");
    git(projectDir, "add", ".");
    git(projectDir, "commit", "-qm", "fixture");
    const dataDir = path.join(root, "data");
    const tokensFile = path.join(dataDir, "tokens.json");
    return {
        projectDir,
        dataDir,
        tokensFile,
        tokens: {
            viewer: addToken(tokensFile, "vera-viewer", "viewer"),
            operator: addToken(tokensFile, "otto-operator", "operator"),
            admin: addToken(tokensFile, "ada-admin", "admin"),
        },
        configure(stack, values) {
            const lines = Object.entries(values).map(([k, v]) => `  fixture:${k}: ${JSON.stringify(String(v))}`);
            fs.writeFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
        },
    };
}

/**
 * Makes `projectDir` a git repository on `main` and publishes it to a bare repository standing
 * in for GitHub at `<remotes>/<repository>.git`. `change`, when given, is committed on top as
 * pull request `number`'s head, which the remote holds only under `refs/pull/<n>/head` (as
 * GitHub does); the project is left on `main`. Point AUTOMATION_GITHUB_GIT_URL at
 * `file://<remotes>/{repository}.git`.
 */
export function publishPullRequest(projectDir: string, remotes: string, opts: { repository: string; number: number; change?: () => void }): { mainSha: string; headSha: string } {
    git(projectDir, "add", ".");
    if (git(projectDir, "status", "--porcelain")) git(projectDir, "commit", "-qm", "main");
    const mainSha = git(projectDir, "rev-parse", "HEAD");
    const bare = path.join(remotes, `${opts.repository}.git`);
    fs.mkdirSync(path.dirname(bare), { recursive: true });
    git(projectDir, "init", "-q", "--bare", bare);
    let headSha = mainSha;
    if (opts.change) {
        git(projectDir, "checkout", "-qb", "pull-request");
        opts.change();
        // Everything the change made, new files and symlinks included, as a PR author commits it.
        git(projectDir, "add", "-A");
        git(projectDir, "commit", "-qm", "the pull request's change");
        headSha = git(projectDir, "rev-parse", "HEAD");
        git(projectDir, "checkout", "-q", "main");
    }
    git(projectDir, "push", "-q", bare, "main", `${headSha}:refs/pull/${opts.number}/head`);
    if (opts.change) git(projectDir, "branch", "-qD", "pull-request");
    return { mainSha, headSha };
}

/** A signed GitHub `pull_request` delivery (opened/synchronize) of `repository`'s PR `number` at `sha`. */
export function pullRequestDelivery(secret: string, input: { repository: string; number: number; sha: string; action?: string }): { raw: string; headers: Record<string, string> } {
    const raw = JSON.stringify({
        action: input.action ?? "opened",
        number: input.number,
        repository: { full_name: input.repository },
        sender: { login: "octo" },
        pull_request: { number: input.number, head: { sha: input.sha, repo: { full_name: input.repository } } },
    });
    const signature = "sha256=" + createHmac("sha256", secret).update(raw).digest("hex");
    return { raw, headers: { "x-hub-signature-256": signature, "x-github-event": "pull_request", "x-github-delivery": randomUUID() } };
}

export interface Reply {
    status: number;
    body: any;
    headers: Headers;
}

/** Sends one request; the body is parsed as JSON when it is JSON. */
export async function call(base: string, method: string, url: string, o: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] = "application/json";
    } else if (o.raw !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(base + url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
        parsed = JSON.parse(text);
    } catch {
        /* not JSON */
    }
    // Every answer a test gets is held to the OpenAPI document (test/automation/conformance.ts).
    const problem = conformanceProblem(method, url, res.status, res.headers.get("content-type"), parsed);
    if (problem) throw new Error(`The answer breaks the API's documented contract: ${problem}. Body: ${text.slice(0, 500)}`);
    return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls `check` every 100 ms until it returns a value, or fails after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

export interface Harness extends FixtureCopy {
    url: string;
    server: RunningService;
    call(method: string, url: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
    waitFor(jobId: string, done?: (job: Job) => boolean | Promise<boolean>, timeoutMs?: number): Promise<Job>;
    restart(overrides?: AssemblyOptions): Promise<void>;
    stop(): Promise<void>;
    /** A new token, made as an admin makes one (POST /v1/tokens), so it lands wherever the service keeps tokens: its file, or the shared database. */
    addToken(name: string, role: string, o?: { replace?: boolean }): Promise<string>;
}

export interface HarnessOptions {
    env?: Record<string, string>;
    overrides?: AssemblyOptions;
    /** Environment policies (file name → YAML), written to `<data dir>/environments` before the start. */
    policies?: Record<string, string>;
    prepare?: (copy: FixtureCopy) => void;
}

/** The directory the harness's environment policies live in (AUTOMATION_ENVIRONMENTS_DIR). */
export const environmentsDirOf = (copy: Pick<FixtureCopy, "dataDir">) => path.join(copy.dataDir, "environments");

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
    const copy = prepareFixture();
    const envDir = environmentsDirOf(copy);
    fs.mkdirSync(envDir, { recursive: true });
    for (const [file, yaml] of Object.entries(opts.policies ?? {})) fs.writeFileSync(path.join(envDir, file), yaml);
    // before the configuration is read, since some of it depends on what the project holds
    opts.prepare?.(copy);
    const config = loadConfig({
        ...process.env,
        PORT: "0",
        AUTOMATION_PROJECT_DIR: copy.projectDir,
        AUTOMATION_DATA_DIR: copy.dataDir,
        AUTOMATION_ENVIRONMENTS_DIR: envDir,
        PULUMI_CONFIG_PASSPHRASE: "fixture-passphrase",
        AUTOMATION_CANCEL_GRACE_MS: "4000",
        AUTOMATION_SHUTDOWN_GRACE_MS: "500",
        AUTOMATION_RATE_LIMIT_PER_MINUTE: "100000",
        AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: "100000",
        ...opts.env,
    });
    const h: Harness = {
        ...copy,
        url: "",
        server: undefined as unknown as RunningService,
        call: (method, url, o) => call(h.url, method, url, o),
        waitFor: (jobId, done = (j) => !["queued", "running"].includes(j.state), timeoutMs = 90_000) =>
            until(async () => {
                const job = await h.server.store.getJob(jobId);
                return job && (await done(job)) ? job : undefined;
            }, `job ${jobId}`, timeoutMs),
        async restart(overrides) {
            await h.server.stop();
            h.server = await startService(config, { logger: silentLogger(), ...opts.overrides, ...overrides });
            h.url = h.server.url;
        },
        async stop() {
            await h.server.stop();
        },
        async addToken(name, role, o = {}) {
            const r = await h.call("POST", "/v1/tokens", { token: h.tokens.admin, body: { name, role, ...(o.replace ? { replace: true } : {}) } });
            if (r.status !== 201) throw new Error(`POST /v1/tokens ${name}: ${r.status} ${JSON.stringify(r.body)}`);
            return r.body.token as string;
        },
    };
    h.server = await startService(config, { logger: silentLogger(), ...opts.overrides });
    h.url = h.server.url;
    return h;
}

/**
 * GitHub's comment API as the account "automation-bot", on loopback: every comment body posted
 * is kept in `comments`; listing answers none. Set AUTOMATION_GITHUB_API_URL to `url`.
 */
export async function commentSink(): Promise<{ url: string; comments: string[]; close(): Promise<void> }> {
    const comments: string[] = [];
    const server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            if (req.method === "POST") comments.push(JSON.parse(body).body);
            const answer = req.method !== "GET" ? { id: comments.length, body: "" } : req.url === "/user" ? { login: "automation-bot" } : [];
            res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" }).end(JSON.stringify(answer));
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, comments, close: () => new Promise((r) => server.close(() => r())) };
}
