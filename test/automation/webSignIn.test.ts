// A person signs in to the dashboard through a real OpenID provider (oidc-provider, in this
// process) in headless Chromium, starts a preview from the page (its changes carry the session's
// CSRF token, which only the page can read), and signs out. The browser is told to accept the
// provider's test certificate, as an operator's machine trusts its company's CA.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { startHarness, type Harness } from "./harness";
import { startIdentityProvider, type IdentityProvider, freePort, signInEnv } from "./identityProvider";

describe("signing in to the dashboard through an OpenID provider, in headless Chromium", function () {
    this.timeout(240_000);
    let idp: IdentityProvider;
    let h: Harness;
    let dir: string;
    let browser: BrowserContext;
    const problems: string[] = [];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "web-sign-in-"));
        const port = await freePort();
        const publicUrl = `http://127.0.0.1:${port}`;
        idp = await startIdentityProvider({
            redirectUris: [`${publicUrl}/auth/callback`],
            people: { olly: { name: "Olly Operator", email: "olly@example.com", groups: ["deployers"] } },
        });
        fs.writeFileSync(path.join(dir, "roles.yaml"), "operator: [deployers]\n");
        h = await startHarness({
            env: {
                PORT: String(port),
                AUTOMATION_PUBLIC_URL: publicUrl,
                AUTOMATION_OIDC_ISSUER: idp.issuer,
                AUTOMATION_OIDC_CLIENT_ID: idp.clientId,
                AUTOMATION_OIDC_CLIENT_SECRET: idp.clientSecret,
                AUTOMATION_OIDC_ROLE_MAP: path.join(dir, "roles.yaml"),
                AUTOMATION_OIDC_SCOPES: "openid profile email groups offline_access",
            },
        });
        const executablePath = execFileSync("bash", [path.resolve(__dirname, "../../scripts/setup-browser.sh")], { encoding: "utf8" }).trim();
        browser = await chromium.launchPersistentContext(path.join(dir, "profile"), {
            executablePath,
            headless: true,
            ignoreHTTPSErrors: true,
            args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            viewport: { width: 1280, height: 900 },
        });
    });
    after(async () => {
        await browser?.close();
        await h?.stop();
        await idp?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("signs in from the landing page, starts a preview as the person with the session's CSRF token, and signs out", async () => {
        const page = await browser.newPage();
        page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
        page.on("console", (msg) => {
            if (/Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
        });
        await page.goto(h.url);
        const link = page.getByRole("link", { name: `Sign in with ${new URL(idp.issuer).origin}` });
        await link.click();
        await page.getByLabel("User").fill("olly");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL(`${h.url}/`);
        await page.getByText("Signed in as sso:olly (operator).").waitFor();
        const cookies = await browser.cookies(h.url);
        const session = cookies.find((c) => c.name === "__Host-automation-session");
        assert.ok(session, `the browser keeps the session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, "Strict");
        assert.equal(await page.evaluate("document.cookie"), "", "no script of the page can read the session");

        await page.getByRole("button", { name: "Preview dev" }).click();
        await page.getByRole("heading", { name: "Preview of dev" }).waitFor();
        const [job] = await h.server.store.listJobs();
        assert.equal(job.triggeredBy, "sso:olly");
        assert.equal(job.triggeredVia, "session");

        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByText("Not signed in.").waitFor();
        assert.equal((await browser.cookies(h.url)).find((c) => c.name === "__Host-automation-session"), undefined);
        await page.reload();
        await page.getByText("Not signed in.").waitFor();
        assert.deepEqual(problems, []);
    });
});
