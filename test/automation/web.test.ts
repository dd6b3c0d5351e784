// The dashboard in headless Chromium against the real service (real CLI, file:// backend,
// worker processes) on a copy of the fixture project.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { Client } from "pg";
import type { BrowserContext, Page } from "playwright-core";
import type { Job } from "../../automation/jobs/types";
import { createLogger } from "../../automation/logger";
import { backendPaths, localProbe } from "../../automation/recovery/scan";
import { createRedactor } from "../../automation/security";
import { addToken } from "../../automation/security/tokens";
import { stripColour } from "../../automation/web/lib.mjs";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { launchBrowser, newTab } from "./browser";
import { startHarness, until, type Harness } from "./harness";
import { receiver } from "./receivers";

// Generous: each job runs the real CLI, and the test machine is shared by several test runs.
const JOB_TIMEOUT_MS = 180_000;

/** The page globals the callbacks evaluated in the browser touch (tsconfig has no DOM lib). */
interface PageGlobals {
    document: { querySelector(selector: string): { textContent: string | null } | null };
    location: { hash: string };
    __injected?: number;
}

/** A new tab signed in with `token`, as a person does it on the signed-out page. */
async function signedIn(browser: BrowserContext, problems: string[], url: string, token: string): Promise<Page> {
    const page = await newTab(browser, problems, url);
    await page.getByLabel("API token").fill(token);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByText(/^Signed in as /).waitFor();
    return page;
}

/**
 * Runs axe-core's WCAG 2 A/AA rules on the page as it is. The engine is injected through the
 * DevTools protocol, which the page's CSP does not govern, so the page itself stays strict.
 */
async function accessibilityViolations(page: Page): Promise<string[]> {
    await page.evaluate(fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8"));
    return page.evaluate(async () => {
        const { axe } = globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown }> }> }> } };
        const result = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
        return result.violations.map((v) => `${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
    });
}

/** A process named like a pulumi CLI holding a stack's lock on this host: alive, so never stale. */
async function plantLiveLock(h: Harness, stack: string): Promise<{ holder: ChildProcess; lockFile: string }> {
    const holder = spawn("bash", ["-c", "exec -a pulumi-holder sleep 600"], { stdio: "ignore" });
    await until(() => (localProbe.commandLine!(holder.pid!)?.startsWith("pulumi-holder") ? true : undefined), "the lock holder running", 10_000);
    const { locks } = backendPaths(h.server.config.backendUrl.slice("file://".length), "fixture", stack);
    fs.mkdirSync(locks, { recursive: true });
    const lockFile = path.join(locks, "held.json");
    fs.writeFileSync(lockFile, JSON.stringify({ pid: holder.pid, username: "someone", hostname: os.hostname(), timestamp: new Date().toISOString() }));
    // The scan the service runs at start-up and after a failed job, run now instead of a restart.
    await h.server.recovery.scanStack(stack, "test");
    return { holder, lockFile };
}

describe("the dashboard in headless Chromium", function () {
    this.timeout(300_000);

    let h: Harness;
    const approvers = { ann: "", bob: "" };
    let browser: BrowserContext;
    let closeBrowser: () => Promise<void>;
    let shotDir: string;
    let problems: string[];
    let notifications: Awaited<ReturnType<typeof receiver>>;

    before(async () => {
        notifications = await receiver([200]);
        // A grace longer than the cancel test's 6 s creation keeps that cancel graceful: the CLI
        // finishes the step and releases its lock, so dev needs no repair for the tests after it.
        // The service as `npm start` builds it, with prod updates needing one approval and the
        // destroys of `gone` (a stack made by its test) one approval; notifications go to a receiver.
        h = await startHarness({
            env: { AUTOMATION_CANCEL_GRACE_MS: "30000", AUTOMATION_NOTIFY_WEBHOOK_URL: notifications.url },
            policies: {
                // prod's drift check comes due only on 29 February, so no test meets its run.
                "prod.yaml": 'operations:\n  update: { approvals: 1, approverRole: approver }\nschedules:\n  driftCheck: { cron: "0 6 29 2 *" }\n',
                "gone.yaml": "operations:\n  destroy: { role: admin, approvals: 1, approverRole: approver }\n",
            },
        });
        approvers.ann = addToken(h.server.config.tokensFile, "ann-approver", "approver");
        approvers.bob = addToken(h.server.config.tokensFile, "bob-approver", "approver");
        // `npm run docs:screenshots` points this at docs/images/dashboard; a test run keeps them out of the repository.
        shotDir = process.env.DASHBOARD_SHOTS_DIR ? path.resolve(process.env.DASHBOARD_SHOTS_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-shots-"));
        fs.mkdirSync(shotDir, { recursive: true });
        ({ browser, problems, close: closeBrowser } = await launchBrowser());
    });

    after(async () => {
        await closeBrowser?.();
        await h?.stop();
        notifications?.close();
    });

    beforeEach(() => {
        problems.length = 0;
    });

    afterEach(function () {
        // Any script error or CSP violation means part of the page silently did not work.
        if (this.currentTest?.state === "passed") assert.deepEqual(problems, [], "no script errors or CSP violations in the page");
    });

    const openAs = (token: string) => signedIn(browser, problems, `${h.url}/`, token);

    async function waitForStreamEnd(page: Page, state: string): Promise<void> {
        try {
            await page.getByText(`Stream ended: job ${state}.`).waitFor({ timeout: JOB_TIMEOUT_MS });
        } catch (err) {
            // Say what the page and the service saw instead, so a failure is diagnosable.
            const status = await page.locator("#stream-status").textContent().catch(() => "?");
            const id = /#\/jobs\/(.+)$/.exec(page.url())?.[1];
            const job = id ? (await h.call("GET", `/v1/jobs/${id}`, { token: h.tokens.viewer })).body : undefined;
            throw new Error(`expected the stream to end with ${state}; page says "${status}", job is ${JSON.stringify(job?.state)} ${JSON.stringify(job?.error ?? "")}: ${(err as Error).message}`);
        }
    }

    function openJobId(page: Page): string {
        const match = /#\/jobs\/(.+)$/.exec(page.url());
        assert.ok(match, `the page shows a job (url ${page.url()})`);
        return match[1];
    }

    async function apiJob(id: string): Promise<Job> {
        const res = await h.call("GET", `/v1/jobs/${id}`, { token: h.tokens.viewer });
        assert.equal(res.status, 200);
        return res.body as Job;
    }

    it("lists the fixture's stacks with their state and policy in words, under a strict CSP", async () => {
        const page = await openAs(h.tokens.operator);
        const response = await page.request.get(`${h.url}/`);
        assert.match(response.headers()["content-security-policy"] ?? "", /default-src 'none'|default-src 'self'/);
        const rows = page.locator("#stacks tbody tr");
        await rows.first().waitFor();
        assert.deepEqual(await rows.locator("th").evaluateAll((ths) => ths.map((t) => t.firstChild?.textContent)), ["dev", "prod"]);
        assert.deepEqual(await rows.locator(".state").allTextContents(), ["Idle", "Idle"]);
        // Who may do what, in words, beside each stack.
        assert.deepEqual(await rows.locator(".stack-policy").allTextContents(), ["updates: operator, no approval; destroys: admin, no approval",
            "updates: operator, 1 approval by an approver; destroys: admin, no approval; drift check 0 6 29 2 * UTC"]);
        // What the service runs on its own: prod's drift check, when it runs next, and that it has not yet.
        assert.deepEqual(await rows.locator(".stack-automation").allTextContents(), ["Drift check 0 6 29 2 * UTC; next 2028-02-29 06:00:00Z; not run yet"]);
        assert.equal(await page.getByText("Signed in as otto-operator (operator).").count(), 1);
        await page.close();
    });

    it("shows a signed-out person how to sign in and how to get a token, and nothing of the service's data", async () => {
        const page = await newTab(browser, problems, `${h.url}/`);
        const landing = page.getByRole("region", { name: "Sign in" });
        await landing.getByLabel("API token").waitFor();
        assert.equal(await landing.locator("pre").textContent(), "npm run token -- --name <who> --role <role>");
        await landing.getByText(/Ask an admin to run it for you, with your name and the role you need/).waitFor();
        assert.deepEqual(await landing.locator("table th[scope=row]").allTextContents(), ["viewer", "operator", "approver", "admin"]);
        // This service has no OpenID Connect configured: no identity provider is offered.
        assert.equal(await page.getByRole("link", { name: /^Sign in with / }).count(), 0);
        assert.equal(await page.locator("#content").isVisible(), false, "no stacks or jobs before signing in");
        await page.getByText("Not signed in.").waitFor();
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations on the signed-out page");
        await page.screenshot({ path: path.join(shotDir, "signed-out.png") });
        await page.close();
    });

    it("shows which readiness checks fail, a missing plugin with the command that installs it, signed in or not, until they pass", async () => {
        // The project starts needing a resource plugin nobody installed (a made-up SDK declaring it).
        const sdk = path.join(h.projectDir, "node_modules", "@pulumi", "absent");
        fs.mkdirSync(sdk, { recursive: true });
        fs.writeFileSync(path.join(sdk, "package.json"), JSON.stringify({ name: "@pulumi/absent", version: "1.2.3", pulumi: { resource: true, name: "absent", version: "1.2.3" } }));
        fs.writeFileSync(path.join(h.projectDir, "package.json"), JSON.stringify({ dependencies: { "@pulumi/absent": "1.2.3" } }));
        try {
            const ready = await h.call("GET", "/readyz");
            assert.equal(ready.status, 503);
            const page = await openAs(h.tokens.viewer);
            const outside = await newTab(browser, problems, `${h.url}/`);
            for (const tab of [page, outside]) {
                const banner = tab.locator("#readiness");
                await banner.getByText("The service is not ready: jobs may fail until these checks pass.").waitFor({ timeout: 20_000 });
                assert.deepEqual(await banner.locator("li").allTextContents(), ["plugins: missing: absent v1.2.3 (pulumi plugin install resource absent v1.2.3)"]);
            }
            await outside.close();
            fs.rmSync(path.join(h.projectDir, "package.json"));
            // The page reads /readyz again every 10 s: the banner goes once the check passes.
            await page.locator("#readiness").waitFor({ state: "hidden", timeout: 25_000 });
            await page.close();
        } finally {
            fs.rmSync(path.join(h.projectDir, "package.json"), { force: true });
            fs.rmSync(path.join(h.projectDir, "node_modules"), { recursive: true, force: true });
        }
    });

    it("refuses an unknown token with the service's message and keeps nothing of it", async () => {
        const page = await newTab(browser, problems, `${h.url}/`);
        await page.getByLabel("API token").fill("tbk_not-a-token-of-this-service");
        await page.getByRole("button", { name: "Use token" }).click();
        await page.getByRole("alert").getByText(/^The service refused the token — UNAUTHENTICATED: /).waitFor();
        assert.equal(await page.locator("#content").isVisible(), false);
        assert.equal(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length), 0);
        await page.close();
    });

    it("signs out with the service's message when the token is revoked while the page is open", async () => {
        const token = addToken(h.server.config.tokensFile, "rita-rotated", "viewer");
        const page = await openAs(token);
        await page.locator("#stacks tbody tr").first().waitFor();
        addToken(h.server.config.tokensFile, "rita-rotated", "viewer"); // rotation revokes the old token
        await page.getByRole("alert").getByText(/^Your token is no longer accepted — UNAUTHENTICATED: /).waitFor();
        await page.getByText("Not signed in.").waitFor();
        assert.equal(await page.locator("#stacks").isVisible(), false, "no stale data stays on screen");
        assert.equal(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length), 0, "the token is gone from the tab");
        await page.close();
    });

    it("can be used from the keyboard alone: sign in with Enter, Tab to a stack's buttons", async () => {
        const page = await newTab(browser, problems, `${h.url}/`);
        await page.keyboard.press("Tab");
        await page.keyboard.type(h.tokens.operator);
        await page.keyboard.press("Enter");
        await page.getByText("Signed in as otto-operator (operator).").waitFor();
        await page.locator("#stacks tbody tr").first().waitFor();
        const reached: string[] = [];
        for (let i = 0; i < 12 && !reached.includes("Preview dev"); i++) {
            await page.keyboard.press("Tab");
            reached.push(await page.evaluate(() => {
                const active = (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null; textContent: string | null } | null } }).document.activeElement;
                return active?.getAttribute("aria-label") ?? active?.textContent ?? "";
            }));
        }
        assert.ok(reached.includes("Preview dev"), `Tab reaches the Preview button of dev (focus went: ${reached.join(" → ")})`);
        await page.close();
    });

    it("starts a preview from the page and shows the job, its streamed log and the change summary the API reports", async () => {
        const page = await openAs(h.tokens.operator);
        await page.getByRole("button", { name: "Preview dev" }).click();
        await page.getByRole("heading", { name: "Preview of dev" }).waitFor();
        await waitForStreamEnd(page, "succeeded");
        const id = openJobId(page);

        const job = await apiJob(id);
        assert.equal(job.state, "succeeded");
        assert.equal(job.triggeredBy, "otto-operator");
        const steps = page.locator("#summary-steps tbody tr");
        const shown: string[] = [];
        for (const row of await steps.all()) shown.push((await row.locator("td").allTextContents()).slice(0, 3).join(" "));
        shown.sort();
        const expected = job.summary!.steps.map((s) => `${s.op} ${s.urn.split("::").pop()} ${s.type}`).sort();
        assert.deepEqual(shown, expected, "the summary table is the API's per-resource steps");
        // The fixture's dev stack has two items; the first preview creates both.
        for (const item of ["item-0", "item-1"]) assert.ok(shown.some((row) => row.startsWith(`create ${item} `)), `${item} is created`);
        const log = await page.locator("#log").textContent();
        assert.match(log ?? "", /job running/);
        assert.match(log ?? "", /create \S+ item-0/);
        assert.match(log ?? "", /done: create item-0 \(\d+\.\d s\)/, "each step says when it completed and how long it took");
        assert.match(log ?? "", /job succeeded/);
        // The commit the preview ran on, as its fingerprint kept it.
        const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: h.projectDir, encoding: "utf8" }).trim();
        await page.locator("#job-meta").getByText(commit, { exact: true }).waitFor();
        // The stored CLI output, read page by page when the reader asks for it.
        await page.getByText("CLI output", { exact: true }).click();
        const stored = await h.call("GET", `/v1/jobs/${id}/log?limit=500`, { token: h.tokens.viewer });
        const expectedOutput = (stored.body.lines as Array<{ text: string }>).map((l) => `${stripColour(l.text)}\n`).join("");
        assert.ok(expectedOutput.length > 0, "the CLI wrote output");
        await page.waitForFunction((n) => ((globalThis as unknown as PageGlobals).document.querySelector("#cli-log")?.textContent ?? "").length >= n, expectedOutput.length);
        assert.equal(await page.locator("#cli-log").textContent(), expectedOutput);
        // The job list shows it too, with its state in words.
        await page.locator(`#jobs tbody tr[data-job="${id}"]`).getByText("Succeeded").waitFor();
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with a job open");
        await page.screenshot({ path: path.join(shotDir, "preview.png") });
        await page.close();
    });

    it("shows each resource's property changes, collapsible, and a stack's drift with an apply-refresh action", async () => {
        h.configure("webdiff", { count: 1 });
        const run = async (op: string, body: unknown = {}) => {
            const r = await h.call("POST", `/v1/stacks/webdiff/${op}`, { token: h.tokens.admin, body });
            return h.waitFor(r.body.id);
        };
        assert.equal((await run("updates")).state, "succeeded");
        h.configure("webdiff", { count: 1, content: "v2" });
        const preview = await run("previews");
        const page = await openAs(h.tokens.operator);
        await page.goto(`${h.url}/#/jobs/${preview.id}`);
        const row = page.locator("#summary-steps tbody tr", { hasText: "item-0" });
        await page.getByText(/^Stream ended/).waitFor();
        await row.getByText("1 change").click();
        assert.equal((await row.locator("li").allTextContents()).join("\n"), '~ content: "v1" => "v2"');
        // It stays open while the page reads the job again (a poll, the job's events).
        await page.waitForTimeout(2500);
        assert.equal(await row.locator("li").first().isVisible(), true, "the opened change list is still open");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the diff open");
        await page.screenshot({ path: path.join(shotDir, "diff.png") });
        // Drift: the file changed behind Pulumi's back, a refresh in preview mode finds it.
        h.configure("webdiff", { count: 1 });
        fs.writeFileSync(path.join(h.projectDir, "out", "webdiff", "item-0.txt"), "edited");
        assert.equal((await run("refreshes")).state, "succeeded");
        await page.goto(`${h.url}/#/`);
        await page.reload();
        const stackRow = page.locator('#stacks tbody tr[data-stack="webdiff"]');
        await stackRow.getByText("drift: 1 resource").waitFor();
        await page.screenshot({ path: path.join(shotDir, "drift.png") });
        // The stack's outputs, as the last update left them.
        await stackRow.getByText("Outputs (2)").click();
        assert.deepEqual(await stackRow.locator(".stack-outputs dt").allTextContents(), ["count", "files"]);
        assert.equal(await stackRow.locator(".stack-outputs dd").first().textContent(), "1");
        await stackRow.getByRole("button", { name: "Apply refresh webdiff" }).click();
        await waitForStreamEnd(page, "succeeded");
        const applied = await apiJob(openJobId(page));
        assert.deepEqual([applied.op, applied.options.mode], ["refresh", "apply"]);
        // What the refresh found is labelled as drift, not as a change anyone planned.
        assert.equal(await page.locator("#summary-steps tbody tr", { hasText: "item-0" }).locator("td").first().textContent(), "update (drift)");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations on the applied refresh");
        await page.close();
    });

    it("streams log lines while the job is still running, and cancels it from the page", async () => {
        // A stack of its own: the forced kill leaves it to the repair scan, and the next tests use dev.
        h.configure("slowweb", { count: 2, delayMs: 6000 });
        const page = await openAs(h.tokens.operator);
        await page.getByRole("button", { name: "Update slowweb" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Update anyway" }).click();
        await page.getByRole("heading", { name: "Update of slowweb" }).waitFor();
        // A creation takes 6 s in the stand-in cloud: its step must be on screen before the job ends.
        await page.waitForFunction(
            () => {
                const { document } = globalThis as unknown as PageGlobals;
                return /create \S+ item-\d/.test(document.querySelector("#log")?.textContent ?? "") && document.querySelector("#job-meta .state")?.textContent === "Running";
            },
            undefined,
            { timeout: JOB_TIMEOUT_MS },
        );
        // A cancel asks first, and "Keep it" leaves the job alone.
        await page.getByRole("button", { name: "Cancel job" }).click();
        const ask = page.getByRole("dialog", { name: "Cancel the update of slowweb?" });
        await ask.getByText(/The resource operations under way finish first/).waitFor();
        await ask.getByRole("button", { name: "Keep it" }).click();
        assert.equal((await apiJob(openJobId(page))).state, "running", "nothing was cancelled");
        await page.getByRole("button", { name: "Cancel job" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Cancel job" }).click();
        // The engine finishes its 6 s create before it stops: meanwhile the job says so; only an admin can kill it at once.
        await page.locator("#job-meta .state", { hasText: "Cancelling…" }).waitFor();
        assert.equal(await page.getByRole("button", { name: "Force cancel (kill now)" }).count(), 0, "an operator is not offered the kill");
        const jobId = openJobId(page);
        await page.close();
        const admin = await openAs(h.tokens.admin);
        await admin.goto(`${h.url}/#/jobs/${jobId}`);
        await admin.getByRole("button", { name: "Force cancel (kill now)" }).click();
        // Before the kill, the dialog says what it cuts off.
        const dialog = admin.getByRole("dialog");
        await dialog.getByText(/resource operation\(s\) are under way \(create .*item-\d\); killing them leaves them pending/).waitFor();
        await dialog.getByRole("button", { name: "Kill now" }).click();
        await waitForStreamEnd(admin, "cancelled");
        assert.equal((await apiJob(jobId)).state, "cancelled");
        const log = (await admin.locator("#log").textContent()) ?? "";
        assert.match(log, /cancel requested by otto-operator/);
        assert.match(log, /force-cancelled by ada-admin: its process was killed/);
        assert.equal(await admin.getByRole("button", { name: "Force cancel (kill now)" }).count(), 0);
        assert.equal(await admin.getByRole("button", { name: "Cancel job" }).count(), 0, "nothing left to cancel");
        await admin.close();
    });

    it("lets an admin repair the stack a kill left half-done, saying first which pending operations the repair drops", async () => {
        // The force-cancel above killed slowweb's update mid-create: the scan after it marks the stack.
        const health = await until(async () => {
            const r = await h.call("GET", "/v1/stacks/slowweb/repair", { token: h.tokens.viewer });
            return r.body.state === "needs-repair" ? r.body : undefined;
        }, "slowweb marked needs-repair", 60_000);
        const pending = health.findings.find((f: { kind: string }) => f.kind === "pending-operations").operations as Array<{ type: string; urn: string }>;
        assert.ok(pending.length > 0);
        const operator = await openAs(h.tokens.operator);
        const operatorRow = operator.locator('#stacks tbody tr[data-stack="slowweb"]');
        await operatorRow.getByText("Needs repair").waitFor();
        assert.equal(await operatorRow.getByRole("button", { name: /^(Repair|Unlock) / }).count(), 0, "repair is the admins' (the API refuses others)");
        await operator.close();

        const page = await openAs(h.tokens.admin);
        const row = page.locator('#stacks tbody tr[data-stack="slowweb"]');
        await row.getByRole("button", { name: "Repair slowweb" }).click();
        const dialog = page.getByRole("dialog", { name: "Repair slowweb?" });
        // What it does to the state, one line per pending operation, in the words of GET .../repair's findings.
        const lines = await dialog.locator("#confirm-list li").allTextContents();
        assert.equal(lines[0], "Backs up the exported state to backups/slowweb-<time>.json in the data dir (secrets stay encrypted).");
        assert.deepEqual(lines.slice(1), pending.map((o) => `Drops the pending ${o.type} of ${o.urn.split("::").pop()}${o.type === "create" ? ": it may have made a real resource that Pulumi will no longer track: import it (pulumi import) if so" : ""}.`));
        assert.equal(await dialog.getByLabel(/^Strip: /).isChecked(), true, "strip is the default, as the API's");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the repair dialog open");
        await page.screenshot({ path: path.join(shotDir, "repair.png") });
        await dialog.getByRole("button", { name: "Repair slowweb" }).click();
        // Whatever the page answers (a refusal says why), so a failure shows it rather than a timeout.
        const answer = page.locator("#message", { hasText: /^(Repaired|Repair of|repair of) slowweb/ });
        // A repair is several CLI runs (export, the backup, import): on a loaded machine more than the default 30 s.
        await answer.waitFor({ timeout: 90_000 });
        assert.equal(await answer.getAttribute("role"), "status", (await answer.textContent()) ?? "");
        assert.match((await answer.textContent()) ?? "", /^Repaired slowweb \(strip\): dropped the pending .*; the state before is backed up as slowweb-.*\.json; the stack is ok now\.$/);
        await row.getByText("Needs repair").waitFor({ state: "detached" });
        assert.equal((await h.call("GET", "/v1/stacks/slowweb/repair", { token: h.tokens.viewer })).body.state, "ok");
        const audit = await h.call("GET", "/v1/audit?action=stack.repair&stack=slowweb", { token: h.tokens.admin });
        assert.deepEqual(audit.body.entries.map((e: { actor: { name: string }; result: string; details: { method: string } }) => [e.actor.name, e.result, e.details.method]), [["ada-admin", "ok", "strip"]]);
        await page.close();
    });

    it("lets an admin unlock a stack a live process holds, saying first whose lock goes and that the holder keeps running", async () => {
        h.configure("lockweb", { count: 1 });
        const up = await h.call("POST", "/v1/stacks/lockweb/updates", { token: h.tokens.admin, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
        const { holder, lockFile } = await plantLiveLock(h, "lockweb");
        try {
            const page = await openAs(h.tokens.admin);
            const row = page.locator('#stacks tbody tr[data-stack="lockweb"]');
            await row.getByText("Locked by another process").waitFor();
            assert.equal(await row.getByRole("button", { name: "Repair lockweb" }).count(), 0, "a live lock alone needs no repair");
            await row.getByRole("button", { name: "Unlock lockweb" }).click();
            const dialog = page.getByRole("dialog", { name: "Unlock lockweb?" });
            const lines = await dialog.locator("#confirm-list li").allTextContents();
            assert.equal(lines.length, 1, lines.join("\n"));
            assert.match(lines[0], new RegExp(`^Removes the lock of pid ${holder.pid} on ${os.hostname().replace(/\W/g, "\\$&")} \\(user someone, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\): that process is still running, and unlocking does not stop it\\.$`));
            const ok = dialog.getByRole("button", { name: "Unlock lockweb" });
            assert.equal(await ok.isDisabled(), true, "not before the stack's name is typed");
            await dialog.getByLabel("Type the stack's name to confirm").fill("lockweb");
            await ok.click();
            await page.getByRole("status").filter({ hasText: `Unlocked lockweb: removed the lock of pid ${holder.pid} on ${os.hostname()}; the stack is ok now.` }).waitFor();
            assert.equal(fs.existsSync(lockFile), false, "the lock is gone");
            await row.getByText("Locked by another process").waitFor({ state: "detached" });
            await page.close();
        } finally {
            holder.kill("SIGKILL");
        }
    });

    it("shows markup in the log as text: an injected <img onerror> is neither an element nor run", async () => {
        const payload = "<img src=x onerror=window.__injected=1>";
        h.configure("dev", { count: 1, prefix: payload, failOn: "create" });
        const page = await openAs(h.tokens.operator);
        await page.getByRole("button", { name: "Update dev" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Update anyway" }).click();
        await waitForStreamEnd(page, "failed");
        const log = (await page.locator("#log").textContent()) ?? "";
        assert.ok(log.includes(`refused to create ${payload}`), `the log shows the markup literally:\n${log}`);
        assert.equal(await page.locator("#log img").count(), 0, "no element was made from the log text");
        assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).__injected), undefined);
        await page.screenshot({ path: path.join(os.tmpdir(), `dashboard-injected-${process.pid}.png`) }); // evidence, not documentation
        await page.close();
    });

    it("gives a viewer no buttons that change anything, only the state of things", async () => {
        const page = await openAs(h.tokens.viewer);
        await page.locator("#stacks tbody tr").first().waitFor();
        assert.equal(await page.locator("#stacks button[data-op]").count(), 0, "no preview/refresh/update buttons");
        const cells = await page.locator("#stacks tbody tr td:last-child").allTextContents();
        assert.ok(cells.length >= 2, `${cells.length} stacks`);
        assert.deepEqual(cells, cells.map(() => "read-only"));
        // A preview someone else started: while it runs there is no cancel for a viewer.
        const started = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal(started.status, 202);
        await page.evaluate((id) => {
            (globalThis as unknown as PageGlobals).location.hash = `#/jobs/${id}`;
        }, started.body.id as string);
        await page.getByRole("heading", { name: "Preview of prod" }).waitFor();
        assert.equal(await page.getByRole("button", { name: "Cancel job" }).count(), 0);
        await page.getByText(/^Stream ended/).waitFor({ timeout: JOB_TIMEOUT_MS });
        assert.equal(await page.getByRole("button", { name: "Cancel job" }).count(), 0);
        assert.equal(await page.getByRole("button", { name: "Update with this preview" }).count(), 0);
        // prod updates need an approval: a viewer sees where it stands, without the form.
        await page.getByText("Waiting for approval: 0 of 1.").waitFor();
        assert.equal(await page.getByRole("button", { name: /Approve|Reject/ }).count(), 0);
        await page.close();
    });

    it("refuses a self-approval with the API's message, then shows another approver's approval and no second vote", async () => {
        const ann = await openAs(approvers.ann);
        await ann.getByRole("button", { name: "Preview prod" }).click();
        await waitForStreamEnd(ann, "succeeded");
        const id = openJobId(ann);
        await ann.getByText("Waiting for approval: 0 of 1.").waitFor();

        const refusal = ann.waitForResponse((r) => r.url().endsWith(`/v1/jobs/${id}/approvals`) && r.request().method() === "POST");
        await ann.getByRole("button", { name: "Approve preview" }).click();
        const refused = await refusal;
        assert.equal(refused.status(), 403);
        const apiError = ((await refused.json()) as { error: { code: string; message: string } }).error;
        assert.equal(apiError.code, "SELF_APPROVAL");
        const alert = ann.getByRole("alert");
        await alert.getByText(apiError.message, { exact: false }).waitFor();
        assert.equal(await alert.textContent(), `Approval refused — SELF_APPROVAL: ${apiError.message}`);
        // Ann keeps the preview open; a mark in the page tells whether it is ever reloaded.
        await ann.evaluate(() => {
            (globalThis as unknown as PageGlobals).__injected = 7;
        });

        const bob = await openAs(approvers.bob);
        await bob.evaluate((jobId) => {
            (globalThis as unknown as PageGlobals).location.hash = `#/jobs/${jobId}`;
        }, id);
        await bob.getByText("Waiting for approval: 0 of 1.").waitFor();
        await bob.getByLabel("Comment").fill("summary matches the change request");
        await bob.getByRole("button", { name: "Approve preview" }).click();
        await bob.getByText("Approved (1 of 1) by bob-approver: the update may run from this preview.").waitFor();
        await bob.getByText(/^Approved by bob-approver: summary matches the change request \(/).waitFor();
        const record = await h.call("GET", `/v1/jobs/${id}/approvals`, { token: h.tokens.viewer });
        assert.deepEqual(record.body.update.approvedBy, ["bob-approver"], "the page's approval reached the service");
        // Whoever voted sees the vote, not the buttons again.
        await bob.getByText(/^You approved this preview \(/).waitFor();
        assert.equal(await bob.getByRole("button", { name: /Approve preview|Reject preview/ }).count(), 0);
        assert.deepEqual(await accessibilityViolations(bob), [], "no WCAG 2 A/AA violations after the vote");
        await bob.screenshot({ path: path.join(shotDir, "approved.png") });
        await bob.close();
        // Bob's approval reaches Ann's open page without a reload.
        await ann.getByText("Approved (1 of 1) by bob-approver: the update may run from this preview.").waitFor({ timeout: 15_000 });
        await ann.getByText(/^Approved by bob-approver: summary matches the change request \(/).waitFor();
        assert.equal(await ann.evaluate(() => (globalThis as unknown as PageGlobals).__injected), 7, "the page was not reloaded");
        await ann.close();
    });

    it("marks a preview stale before anyone approves it once the stack's config changes, and offers neither approval nor update of it", async () => {
        const config = path.join(h.projectDir, "Pulumi.prod.yaml");
        const before = fs.readFileSync(config, "utf8");
        const started = await h.call("POST", "/v1/stacks/prod/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(started.body.id)).state, "succeeded");
        const ann = await openAs(approvers.ann);
        await ann.goto(`${h.url}/#/jobs/${started.body.id}`);
        await ann.getByText(/^Current: the stack's state, program and config are as this preview saw them/).waitFor();
        assert.equal(await ann.getByRole("button", { name: "Approve preview" }).isEnabled(), true);
        try {
            fs.appendFileSync(config, "  fixture:content: \"v9\"\n");
            // The page reads the approvals every poll; the service checks the stack again after at most 5 s.
            const stale = ann.getByText("Stale: the stack config file changed since this preview ran. Neither an update nor a destroy can apply it (PLAN_STALE): run a new preview.");
            await stale.waitFor({ timeout: 30_000 });
            assert.equal(await ann.getByRole("button", { name: "Approve preview" }).isDisabled(), true, "no approval of a preview that cannot apply");
            assert.equal(await ann.getByRole("button", { name: "Update with this preview" }).count(), 0);
            assert.deepEqual(await accessibilityViolations(ann), [], "no WCAG 2 A/AA violations on a stale preview");
            await ann.screenshot({ path: path.join(shotDir, "stale.png") });
        } finally {
            fs.writeFileSync(config, before);
        }
        await ann.close();
    });

    it("lets an approver approve a destroy and an admin apply it, listing the resources it deletes first", async () => {
        // `gone` needs one approval of a preview for a destroy (its policy), none for an update.
        h.configure("gone", { count: 2 });
        const made = await h.call("POST", "/v1/stacks/gone/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(made.body.id)).state, "succeeded");
        const previewed = await h.call("POST", "/v1/stacks/gone/previews", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(previewed.body.id)).state, "succeeded");
        const previewId = previewed.body.id as string;
        const items = ["item-0 (pulumi-nodejs:dynamic:Resource)", "item-1 (pulumi-nodejs:dynamic:Resource)"];

        // Without the approval the admin's destroy says what it needs, and offers nothing to press.
        const admin = await openAs(h.tokens.admin);
        await admin.getByRole("button", { name: "Destroy gone" }).click();
        const early = admin.getByRole("dialog", { name: "Destroy gone?" });
        await early.getByText(/A destroy of gone needs 1 approval\(s\) of its latest preview, current and unused: Destroy waiting for approval: 0 of 1\./).waitFor();
        assert.deepEqual(await early.locator("#confirm-list li").allTextContents(), items);
        assert.equal(await early.getByRole("button", { name: "Destroy gone" }).isHidden(), true);
        await early.getByRole("button", { name: "Close" }).click();

        // The approver sees what a destroy would delete, and approves the preview for a destroy.
        const bob = await openAs(approvers.bob);
        await bob.goto(`${h.url}/#/jobs/${previewId}`);
        await bob.getByText("Destroy waiting for approval: 0 of 1.").waitFor();
        await bob.getByText("What a destroy deletes (2 resources)").click();
        assert.deepEqual(await bob.locator("#destroy-resources-list li").allTextContents(), items);
        assert.equal(await bob.getByRole("button", { name: "Approve preview" }).count(), 0, "updates of gone need no approval");
        await bob.getByLabel("Comment").fill("gone is no longer used");
        await bob.getByRole("button", { name: "Approve destroy" }).click();
        await bob.getByText("Destroy approved (1 of 1) by bob-approver: an admin may destroy the stack with this preview.").waitFor();
        await bob.getByText(/^You approved destroying the stack with this preview \(/).waitFor();
        assert.equal(await bob.getByRole("button", { name: "Destroy with this preview" }).count(), 0, "an approver cannot destroy");
        await bob.close();

        // The admin applies it from the preview: the dialog lists the resources and names the preview it applies.
        await admin.goto(`${h.url}/#/jobs/${previewId}`);
        await admin.getByRole("button", { name: "Destroy with this preview" }).click();
        const dialog = admin.getByRole("dialog", { name: "Destroy gone?" });
        await dialog.getByText("2 resources will be deleted:").waitFor();
        assert.deepEqual(await dialog.locator("#confirm-list li").allTextContents(), items);
        await dialog.getByText(`As preview ${previewId.slice(0, 8)} saw them; the stack is unchanged since. The destroy applies preview ${previewId.slice(0, 8)}, approved for destroy by bob-approver.`).waitFor();
        await dialog.getByLabel("Type the stack's name to confirm").fill("gone");
        assert.deepEqual(await accessibilityViolations(admin), [], "no WCAG 2 A/AA violations with the destroy dialog open");
        await admin.screenshot({ path: path.join(shotDir, "destroy.png") });
        await dialog.getByRole("button", { name: "Destroy gone" }).click();
        await admin.getByRole("heading", { name: "Destroy of gone" }).waitFor();
        await waitForStreamEnd(admin, "succeeded");
        const job = await apiJob(openJobId(admin));
        assert.deepEqual([job.op, job.options.previewId, job.triggeredBy], ["destroy", previewId, "ada-admin"]);
        for (const item of ["item-0.txt", "item-1.txt"]) assert.equal(fs.existsSync(path.join(h.projectDir, "out", "gone", item)), false, `${item} is gone`);
        await admin.close();
    });

    it("asks before an update without a reviewed preview, and does nothing when told no", async () => {
        const page = await openAs(h.tokens.operator);
        await page.getByRole("button", { name: "Update dev" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
        assert.equal(await page.getByRole("dialog").count(), 0);
        const jobs = await h.call("GET", "/v1/jobs?stack=dev&state=queued", { token: h.tokens.viewer });
        assert.equal(jobs.body.jobs.length, 0, "nothing was queued");
        assert.equal(await page.locator("#job").isHidden(), true);
        await page.close();
    });

    it("links an update to the preview it applies", async () => {
        h.configure("linked", { count: 1 });
        const p = await h.call("POST", "/v1/stacks/linked/previews", { token: h.tokens.operator, body: {} });
        await h.waitFor(p.body.id);
        const page = await openAs(h.tokens.operator);
        await page.goto(`${h.url}/#/jobs/${p.body.id}`);
        await page.getByRole("button", { name: "Update with this preview" }).click();
        await waitForStreamEnd(page, "succeeded");
        await page.getByRole("button", { name: `${p.body.id.slice(0, 8)}, job ${p.body.id}` }).click();
        await page.getByRole("heading", { name: "Preview of linked" }).waitFor();
        assert.equal(openJobId(page), p.body.id);
        await page.close();
    });

    it("lets an admin destroy a stack only after typing its name", async () => {
        h.configure("throwaway", { count: 1 });
        const made = await h.call("POST", "/v1/stacks/throwaway/updates", { token: h.tokens.admin, body: {} });
        await h.waitFor(made.body.id);
        const previewed = await h.call("POST", "/v1/stacks/throwaway/previews", { token: h.tokens.admin, body: {} });
        await h.waitFor(previewed.body.id);
        const operator = await openAs(h.tokens.operator);
        await operator.locator("#stacks tbody tr").first().waitFor();
        assert.equal(await operator.getByRole("button", { name: /^Destroy / }).count(), 0, "operators have no destroy button");
        await operator.close();
        const page = await openAs(h.tokens.admin);
        await page.getByRole("button", { name: "Destroy throwaway" }).click();
        const dialog = page.getByRole("dialog", { name: "Destroy throwaway?" });
        const ok = dialog.getByRole("button", { name: "Destroy throwaway" });
        // What goes, as the stack's latest preview saw its state (the dialog opens once the page has read it).
        await dialog.getByText("1 resource will be deleted:").waitFor();
        assert.deepEqual(await dialog.locator("#confirm-list li").allTextContents(), ["item-0 (pulumi-nodejs:dynamic:Resource)"]);
        assert.equal(await ok.isDisabled(), true, "not before the name is typed");
        await dialog.getByLabel("Type the stack's name to confirm").fill("throwawa");
        assert.equal(await ok.isDisabled(), true, "not for a near miss");
        await dialog.getByLabel("Type the stack's name to confirm").fill("throwaway");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the typed confirmation open");
        await ok.click();
        await waitForStreamEnd(page, "succeeded");
        const job = await apiJob(openJobId(page));
        assert.deepEqual([job.op, job.stack, job.triggeredBy], ["destroy", "throwaway", "ada-admin"]);
        assert.equal(fs.existsSync(path.join(h.projectDir, "out", "throwaway", "item-0.txt")), false, "the stack's resources are gone");
        await page.close();
    });

    it("shows the API's refusal when an operator updates prod without an approved preview", async () => {
        const page = await openAs(h.tokens.operator);
        await page.getByRole("button", { name: "Update prod" }).click();
        // Without a reviewed preview the page asks first; then the service refuses anyway.
        const dialog = page.getByRole("dialog", { name: "Update prod without a reviewed preview?" });
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the confirmation open");
        await dialog.getByRole("button", { name: "Update anyway" }).click();
        const alert = page.getByRole("alert");
        await alert.getByText(/^Update of prod refused — APPROVAL_REQUIRED: /).waitFor();
        assert.equal(await page.locator("#job").isHidden(), true, "no job was opened");
        await page.close();
    });

    it("keeps the jobs table readable at 1280 px beside an open job, without sideways scrolling", async () => {
        // A caller with a long name and a job of every kind so far: the widest rows the list has.
        const long = addToken(h.server.config.tokensFile, "a.rather.long.operator.name@example.org", "operator");
        const started = await h.call("POST", "/v1/stacks/webdiff/previews", { token: long, body: {} });
        await h.waitFor(started.body.id);
        const page = await openAs(h.tokens.admin);
        assert.equal(page.viewportSize()?.width, 1280);
        await page.goto(`${h.url}/#/jobs/${started.body.id}`);
        await page.getByRole("heading", { name: "Preview of webdiff" }).waitFor();
        await page.locator(`#jobs tbody tr[data-job="${started.body.id}"]`).getByText("a.rather.long.operator.name@example.org").waitFor();
        const widths = await page.evaluate(() => {
            const { document } = globalThis as unknown as { document: { querySelector(s: string): { scrollWidth: number; clientWidth: number; getBoundingClientRect(): { left: number; right: number } } } };
            const of = (selector: string) => {
                const e = document.querySelector(selector);
                return { scroll: e.scrollWidth, client: e.clientWidth, left: e.getBoundingClientRect().left, right: e.getBoundingClientRect().right };
            };
            return { page: of("html"), jobs: of("#jobs-section"), table: of("#jobs"), job: of("#job"), stacks: of("#stacks") };
        });
        assert.ok(widths.jobs.scroll <= widths.jobs.client, `the job list does not scroll sideways: ${JSON.stringify(widths.jobs)}`);
        assert.ok(widths.table.right <= widths.job.left, `the job list sits beside the open job: ${JSON.stringify(widths)}`);
        assert.ok(widths.page.scroll <= widths.page.client, `the page does not scroll sideways: ${JSON.stringify(widths.page)}`);
        assert.ok(widths.stacks.scroll <= widths.stacks.client, `the stacks table fits: ${JSON.stringify(widths.stacks)}`);
        assert.ok((await page.locator("#jobs tbody tr").count()) >= 10, "a list with many jobs");
        await page.screenshot({ path: path.join(shotDir, "jobs-1280.png") });
        await page.close();
    });

    it("shows notification deliveries to admins only, the receiver's address without its path", async () => {
        const operator = await openAs(h.tokens.operator);
        await operator.locator("#stacks tbody tr").first().waitFor();
        assert.equal(await operator.getByRole("button", { name: "Show deliveries" }).count(), 0);
        assert.equal(await operator.locator("#notifications").isVisible(), false);
        await operator.close();
        // Every finished job was notified; the receiver answered 200 each time.
        const api = (await h.call("GET", "/v1/notifications/deliveries", { token: h.tokens.admin })).body as { destinations: Array<{ events: string[] }>; deliveries: Array<{ id: string; status: string }> };
        assert.ok(api.deliveries.length > 0 && api.deliveries.length < 100, `${api.deliveries.length} deliveries, all on one page`);
        const page = await openAs(h.tokens.admin);
        await page.getByRole("button", { name: "Show deliveries" }).click();
        const destinations = page.locator("#destinations tbody tr");
        await destinations.first().waitFor();
        const address = new URL(notifications.url);
        // The receiver's path (a Slack webhook's credential) is elided, as the API elides it.
        assert.deepEqual(await destinations.first().locator("td").allTextContents(), ["webhook", `${address.protocol}//${address.host}/…`, "json", "no", api.destinations[0].events.join(", ")]);
        const rows = page.locator("#deliveries tbody tr");
        await rows.first().waitFor();
        // The deliveries the API listed a moment before, and perhaps newer ones.
        const shown = new Set(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { delivery: string } }).dataset.delivery)));
        for (const d of api.deliveries) assert.ok(shown.has(d.id), `delivery ${d.id} is listed`);
        const delivered = rows.filter({ hasText: "Delivered after 1 attempt; last answer HTTP 200" });
        assert.ok((await delivered.count()) > 0);
        assert.equal(await page.getByText("s3cr3t-path").count(), 0, "never the URL's path (a Slack webhook's credential)");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations on the deliveries");
        await page.close();
    });

    it("gives admins the audit log with filters and its verification, and says where the chain breaks", async () => {
        const operator = await openAs(h.tokens.operator);
        await operator.locator("#stacks tbody tr").first().waitFor();
        assert.equal(await operator.locator("#audit").isVisible(), false, "the audit log is the admins' (the API refuses others)");
        await operator.close();

        const page = await openAs(h.tokens.admin);
        const audit = page.getByRole("region", { name: "Audit log" });
        await audit.getByLabel("Action").fill("approval");
        await audit.getByLabel("Stack").selectOption("gone");
        await audit.getByRole("button", { name: "Show entries" }).click();
        await audit.getByText(/^Chain verified: all \d+ entries are intact and linked\.$/).waitFor();
        const api = (await h.call("GET", "/v1/audit?action=approval&stack=gone&limit=100", { token: h.tokens.admin })).body as { entries: Array<{ seq: number; action: string; actor: { name: string } }> };
        const rows = audit.locator("#audit-entries tbody tr");
        await rows.first().waitFor();
        assert.deepEqual(await rows.locator("td:first-child").allTextContents(), api.entries.map((e) => String(e.seq)), "the entries the API gives for the same filters");
        assert.deepEqual(await rows.locator("td:nth-child(4)").allTextContents(), ["approval.approve"]);
        assert.match((await rows.first().locator("td:nth-child(3)").textContent()) ?? "", /^bob-approver \(approver, token\)$/);
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations on the audit log");
        await page.screenshot({ path: path.join(shotDir, "audit.png") });

        // An entry edited behind the service's back: the verification names its line.
        const file = path.join(h.dataDir, "audit.jsonl");
        const original = fs.readFileSync(file, "utf8");
        const lines = original.split("\n");
        // Bob's approval (not Ann's refused self-approval, also an approval.approve entry).
        const index = lines.findIndex((l) => l.includes('"approval.approve"') && l.includes('"bob-approver"'));
        assert.ok(index >= 0, "bob's approval is in the current audit file");
        lines[index] = lines[index].replace("bob-approver", "eve-approver");
        fs.writeFileSync(file, lines.join("\n"));
        try {
            await audit.getByRole("button", { name: "Show entries" }).click();
            await audit.getByText(`Chain broken at line ${index + 1} (entry ${index + 1}): content does not match its hash (entry edited). Entries from there on cannot be trusted.`).waitFor();
        } finally {
            fs.writeFileSync(file, original);
        }
        await page.close();
    });
});

// FENCED needs a fence, and fences live in the shared database: the service on a real Postgres,
// with the fence a failover would write planted in its table (the failover itself is
// faults/pausedHost.test.ts's).
describe("the dashboard's unlock on a fenced stack (shared Postgres)", function () {
    this.timeout(300_000);
    let pg: TestPostgres;
    let h: Harness;
    let chrome: Awaited<ReturnType<typeof launchBrowser>>;

    before(async () => {
        pg = startPostgres();
        h = await startHarness({ env: { AUTOMATION_DATABASE_URL: pg.url } });
        chrome = await launchBrowser();
    });
    after(async () => {
        await chrome?.close();
        await h?.stop();
        pg?.stop();
    });

    it("shows the service's FENCED refusal in the unlock dialog and overrides it only when the admin ticks the box", async () => {
        const up = await h.call("POST", "/v1/stacks/dev/updates", { token: h.tokens.operator, body: {} });
        assert.equal((await h.waitFor(up.body.id)).state, "succeeded");
        const { holder, lockFile } = await plantLiveLock(h, "dev");
        const db = new Client({ connectionString: pg.url });
        await db.connect();
        try {
            await db.query("INSERT INTO automation.fences (job_id, stack, instance, host, worker_pid) VALUES ($1, 'dev', 'instance-b', 'host-b', 4711)", [up.body.id]);
            const page = await signedIn(chrome.browser, chrome.problems, `${h.url}/`, h.tokens.admin);
            await page.getByRole("button", { name: "Unlock dev" }).click();
            const dialog = page.getByRole("dialog", { name: "Unlock dev?" });
            await dialog.getByLabel("Type the stack's name to confirm").fill("dev");
            await dialog.getByRole("button", { name: "Unlock dev" }).click();
            // Refused: the message, and a box that sends {"overrideFence": true}; nothing unlocked yet.
            const refusal = dialog.getByRole("alert");
            await refusal.getByText(/^FENCED: Stack "dev" was running job .* on instance instance-b \(host host-b, worker pid 4711\)/).waitFor();
            assert.ok(fs.existsSync(lockFile), "the lock is still there");
            await dialog.getByLabel("Type the stack's name to confirm").fill("dev");
            const ok = dialog.getByRole("button", { name: "Unlock dev" });
            assert.equal(await ok.isDisabled(), true, "not without the override ticked");
            await dialog.getByLabel("I made sure that process is gone: override the fence").check();
            assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the FENCED refusal open");
            await page.screenshot({ path: path.join(os.tmpdir(), `dashboard-fenced-${process.pid}.png`) }); // evidence, not documentation
            await ok.click();
            await page.getByRole("status").filter({ hasText: /^Unlocked dev: removed the lock of pid \d+ on / }).waitFor();
            assert.equal(fs.existsSync(lockFile), false);
            const audit = await h.call("GET", "/v1/audit?action=stack.unlock", { token: h.tokens.admin });
            assert.deepEqual(audit.body.entries.map((e: { result: string }) => e.result), ["FENCED", "ok"]);
            assert.equal(audit.body.entries[1].details.overriddenFences[0].instance, "instance-b");
            await page.close();
            assert.deepEqual(chrome.problems, [], "no script errors or CSP violations in the page");
        } finally {
            holder.kill("SIGKILL");
            await db.end();
        }
    });
});

// A service that starts not ready says so twice: once in its start-up log, where the operator
// who started it looks, and in the page from then on, to anyone, signed in or not.
describe("a service started without a resource plugin its project needs", function () {
    this.timeout(300_000);
    let h: Harness;
    let chrome: Awaited<ReturnType<typeof launchBrowser>>;
    const lines: string[] = [];

    before(async () => {
        const logger = createLogger({ level: "info", redactor: createRedactor(), destination: { write: (s: string) => void lines.push(s) } });
        h = await startHarness({
            overrides: { logger },
            // The project needs a plugin nobody installed (a made-up SDK declaring it).
            prepare: ({ projectDir }) => {
                const sdk = path.join(projectDir, "node_modules", "@pulumi", "absent");
                fs.mkdirSync(sdk, { recursive: true });
                fs.writeFileSync(path.join(sdk, "package.json"), JSON.stringify({ name: "@pulumi/absent", version: "1.2.3", pulumi: { resource: true, name: "absent", version: "1.2.3" } }));
                fs.writeFileSync(path.join(projectDir, "package.json"), JSON.stringify({ dependencies: { "@pulumi/absent": "1.2.3" } }));
            },
        });
        chrome = await launchBrowser();
    });
    after(async () => {
        await chrome?.close();
        await h?.stop();
    });

    it("logs at start-up which checks fail and how to fix them, and shows the same on the signed-out page", async () => {
        const warning = await until(
            () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; checks?: unknown }).find((l) => l.msg.startsWith("not ready: ")),
            "the start-up log saying the service is not ready",
            30_000,
        );
        assert.equal(warning.level, 40, "a warning");
        assert.equal(warning.msg, "not ready: plugins: missing: absent v1.2.3 (pulumi plugin install resource absent v1.2.3). GET /readyz answers 503 and jobs may fail until these pass");
        assert.deepEqual(warning.checks, [{ name: "plugins", detail: "missing: absent v1.2.3 (pulumi plugin install resource absent v1.2.3)" }]);
        assert.equal((await h.call("GET", "/readyz")).status, 503);

        const page = await newTab(chrome.browser, chrome.problems, `${h.url}/`);
        const banner = page.locator("#readiness");
        await banner.getByText("The service is not ready: jobs may fail until these checks pass.").waitFor();
        assert.deepEqual(await banner.locator("li").allTextContents(), ["plugins: missing: absent v1.2.3 (pulumi plugin install resource absent v1.2.3)"]);
        await page.getByRole("region", { name: "Sign in" }).getByLabel("API token").waitFor();
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the banner shown");
        await page.close();
        assert.deepEqual(chrome.problems, [], "no script errors or CSP violations in the page");
    });
});
