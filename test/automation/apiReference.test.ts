// The API reference page in headless Chromium against the service: Redoc from our own
// node_modules renders the service's OpenAPI document under a strict policy.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { openApiDocument } from "../../automation/http/openapi";
import { launchBrowser, newTab } from "./browser";
import { startHarness, type Harness } from "./harness";

/** The page globals the callbacks evaluated in the browser touch (tsconfig has no DOM lib). */
interface PageGlobals {
    document: {
        createElement(tag: string): { textContent: string; className: string };
        body: { appendChild(el: unknown): void };
        head: { appendChild(el: unknown): void };
        querySelector(selector: string): unknown;
    };
    getComputedStyle(el: unknown): { color: string };
    __inlineRan?: boolean;
}

describe("the API reference page", function () {
    this.timeout(180_000);
    let h: Harness;
    let chrome: Awaited<ReturnType<typeof launchBrowser>>;
    /** Every URL the browser asked for while the test ran. */
    const requested: string[] = [];

    before(async () => {
        h = await startHarness();
        chrome = await launchBrowser();
        chrome.browser.on("request", (r) => requested.push(r.url()));
    });
    after(async () => {
        await chrome?.close();
        await h?.stop();
    });

    async function open(): Promise<Page> {
        const page = await newTab(chrome.browser, chrome.problems, `${h.url}/api`);
        await page.getByRole("heading", { name: /todobackend automation service/ }).first().waitFor({ timeout: 60_000 });
        return page;
    }

    it("renders the service's own OpenAPI document, every path of it, with nothing loaded from elsewhere and no policy violation", async () => {
        const page = await open();
        const text = await page.locator("#reference").innerText();
        const doc = openApiDocument() as { paths: Record<string, Record<string, { summary?: string }>> };
        const missing = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.summary))
            .filter((summary): summary is string => !!summary && !text.includes(summary));
        assert.deepEqual(missing, [], "every operation's summary is on the page");
        const foreign = requested.filter((u) => !u.startsWith(`${h.url}/`) && !/^(data|blob):/.test(u));
        assert.deepEqual(foreign, [], "no request left the service");
        assert.deepEqual(chrome.problems, []);
        await page.close();
    });

    it("is linked from the dashboard, for a signed-out person too", async () => {
        const page = await newTab(chrome.browser, chrome.problems, `${h.url}/`);
        await page.getByRole("contentinfo").getByRole("link", { name: "API reference" }).click();
        await page.waitForURL(`${h.url}/api`);
        await page.getByRole("heading", { name: /todobackend automation service/ }).first().waitFor({ timeout: 60_000 });
        await page.goto(`${h.url}/`);
        await page.locator("#landing").getByRole("link", { name: "API reference" }).click();
        await page.waitForURL(`${h.url}/api`);
        assert.deepEqual(chrome.problems, []);
        await page.close();
    });

    it("runs no inline script and applies no style without the response's nonce, which changes on every response", async () => {
        const first = await h.call("GET", "/api");
        const second = await h.call("GET", "/api");
        const policy = (r: typeof first) => String(r.headers.get("content-security-policy"));
        const nonce = (r: typeof first) => /'nonce-([^']+)'/.exec(policy(r))?.[1];
        assert.ok(nonce(first) && nonce(second) && nonce(first) !== nonce(second), "a fresh nonce per response");
        assert.doesNotMatch(policy(first), /unsafe-inline|unsafe-eval|\*/);
        assert.match(policy(first), /default-src 'none'/);
        assert.match(policy(first), /frame-ancestors 'none'/);

        // What an injected fragment of markup would try: a script and a style of its own.
        const page = await open();
        const before = chrome.problems.length;
        const colour = await page.evaluate(() => {
            const g = globalThis as unknown as PageGlobals;
            const script = g.document.createElement("script");
            script.textContent = "globalThis.__inlineRan = true";
            g.document.body.appendChild(script);
            const style = g.document.createElement("style");
            style.textContent = ".injected-probe { color: rgb(255, 0, 0) }";
            g.document.head.appendChild(style);
            const probe = g.document.createElement("p");
            probe.className = "injected-probe";
            g.document.body.appendChild(probe);
            return g.getComputedStyle(probe).color;
        });
        assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).__inlineRan), undefined, "the inline script did not run");
        assert.notEqual(colour, "rgb(255, 0, 0)", "the style without the nonce was not applied");
        assert.ok(chrome.problems.slice(before).some((p) => /Content.Security.Policy|Refused/.test(p)), "the browser reported the refusals");
        chrome.problems.length = before;
        await page.close();
    });
});
