// The dashboard in headless Chromium against the real service (real CLI, file:// backend,
// worker processes) on a copy of the fixture project.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { Job } from "../../automation/jobs/types";
import { addToken } from "../../automation/security/tokens";
import { stripColour } from "../../automation/web/lib.mjs";
import { startHarness, type Harness } from "./harness";

const CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
// Generous: each job runs the real CLI, and the test machine is shared by several test runs.
const JOB_TIMEOUT_MS = 180_000;

/** The page globals the callbacks evaluated in the browser touch (tsconfig has no DOM lib). */
interface PageGlobals {
    document: { querySelector(selector: string): { textContent: string | null } | null };
    location: { hash: string };
    __injected?: number;
}

describe("the dashboard in headless Chromium", function () {
    this.timeout(300_000);

    let h: Harness;
    const approvers = { ann: "", bob: "" };
    let browser: BrowserContext;
    let profileDir: string;
    let shotDir: string;
    const problems: string[] = [];

    before(async () => {
        const executablePath = execFileSync("bash", [path.resolve(__dirname, "../../scripts/setup-browser.sh")], { encoding: "utf8" }).trim();
        // A grace longer than the cancel test's 6 s creation keeps that cancel graceful: the CLI
        // finishes the step and releases its lock, so dev needs no repair for the tests after it.
        // The service as `npm start` builds it, with prod updates needing one approval.
        h = await startHarness({
            env: { AUTOMATION_CANCEL_GRACE_MS: "30000" },
            // prod's drift check comes due only on 29 February, so no test meets its run.
            policies: { "prod.yaml": 'operations:\n  update: { approvals: 1, approverRole: approver }\nschedules:\n  driftCheck: { cron: "0 6 29 2 *" }\n' },
        });
        approvers.ann = addToken(h.server.config.tokensFile, "ann-approver", "approver");
        approvers.bob = addToken(h.server.config.tokensFile, "bob-approver", "approver");
        // A fresh profile per run: nothing cached or stored from an earlier run can help the page.
        profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-profile-"));
        // `npm run docs:screenshots` points this at docs/images/dashboard; a test run keeps them out of the repository.
        shotDir = process.env.DASHBOARD_SHOTS_DIR ? path.resolve(process.env.DASHBOARD_SHOTS_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-shots-"));
        fs.mkdirSync(shotDir, { recursive: true });
        const launch = () => chromium.launchPersistentContext(profileDir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
        // Chromium has been seen to crash at start-up once on this loaded, shared machine: one retry.
        browser = await launch().catch(() => launch());
    });

    after(async () => {
        await browser?.close();
        await h?.stop();
        if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
    });

    beforeEach(() => {
        problems.length = 0;
    });

    afterEach(function () {
        // Any script error or CSP violation means part of the page silently did not work.
        if (this.currentTest?.state === "passed") assert.deepEqual(problems, [], "no script errors or CSP violations in the page");
    });

    /** A new tab (its own sessionStorage) signed in with `token`. */
    async function openAs(token: string): Promise<Page> {
        const page = await browser.newPage();
        page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
        page.on("console", (msg) => {
            if (/Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
        });
        await page.goto(`${h.url}/`);
        await page.getByLabel("API token").fill(token);
        await page.getByRole("button", { name: "Use token" }).click();
        await page.getByText(/^Signed in as /).waitFor();
        return page;
    }

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

    it("refuses an unknown token with the service's message and keeps nothing of it", async () => {
        const page = await browser.newPage();
        await page.goto(`${h.url}/`);
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
        const page = await browser.newPage();
        await page.goto(`${h.url}/`);
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
        await page.getByRole("button", { name: "Cancel job" }).click();
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
        await ann.close();

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
        const operator = await openAs(h.tokens.operator);
        await operator.locator("#stacks tbody tr").first().waitFor();
        assert.equal(await operator.getByRole("button", { name: /^Destroy / }).count(), 0, "operators have no destroy button");
        await operator.close();
        const page = await openAs(h.tokens.admin);
        await page.getByRole("button", { name: "Destroy throwaway" }).click();
        const dialog = page.getByRole("dialog", { name: "Destroy throwaway?" });
        const ok = dialog.getByRole("button", { name: "Destroy throwaway" });
        assert.equal(await ok.isDisabled(), true, "not before the name is typed");
        await dialog.getByLabel("Type the stack's name to confirm").fill("throwawa");
        assert.equal(await ok.isDisabled(), true, "not for a near miss");
        await dialog.getByLabel("Type the stack's name to confirm").fill("throwaway");
        assert.deepEqual(await accessibilityViolations(page), [], "no WCAG 2 A/AA violations with the typed confirmation open");
        await page.screenshot({ path: path.join(shotDir, "destroy.png") });
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
});
