// Headless Chromium for the browser tests: a fresh profile each time, and the script errors and
// CSP violations of every page recorded, so a test can assert there were none.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

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
/** Chromium with a fresh profile (nothing cached or stored from an earlier run can help the page), and the problems its pages report. */
export async function launchBrowser(): Promise<{ browser: BrowserContext; problems: string[]; close(): Promise<void> }> {
    const executablePath = execFileSync("bash", [path.resolve(__dirname, "../../scripts/setup-browser.sh")], { encoding: "utf8" }).trim();
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-profile-"));
    const launch = () => chromium.launchPersistentContext(profileDir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    // Chromium has been seen to crash at start-up once on this loaded, shared machine: one retry.
    const browser = await launch().catch(() => launch());
    return {
        browser,
        problems: [],
        async close() {
            await browser.close();
            fs.rmSync(profileDir, { recursive: true, force: true });
        },
    };
}

/** A new tab (its own sessionStorage) on the service, its script errors and CSP violations recorded in `problems`. */
export async function newTab(browser: BrowserContext, problems: string[], url: string): Promise<Page> {
    const page = await browser.newPage();
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
        if (/Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    await page.goto(url);
    return page;
}

