// Sign-in through a real OpenID provider (oidc-provider, in this process, over HTTPS) into the
// real service on the fixture project: what a person gets, what they lose when the provider
// changes its mind, and what someone forging tokens, replaying sign-ins or posting from another
// site gets instead.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT } from "jose";
import { addToken } from "../../../automation/security/tokens";
import { call, startHarness, type Harness } from "../harness";
import { CookieJar, signIn, startIdentityProvider, type IdentityProvider, freePort, signInEnv } from "../identityProvider";

const SESSION = "__Host-automation-session";

/** A request made as a browser of `jar` would, with the session's CSRF token when given. */
async function asPerson(h: Harness, jar: CookieJar, method: string, url: string, o: { csrf?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    return call(h.url, method, url, { ...(o.body !== undefined ? { body: o.body } : {}), headers: { cookie: jar.header(h.url + url), ...(o.csrf ? { "x-csrf-token": o.csrf } : {}), ...o.headers } });
}

/** Follows a sign-in up to the provider's redirect back to the service, without following it. */
async function untilCallback(h: Harness, login: string, jar: CookieJar, startPath = "/auth/login"): Promise<string> {
    let url = new URL(startPath, h.url).toString();
    for (let hop = 0; hop < 20; hop++) {
        if (url.startsWith(`${h.url}/auth/callback`)) return url;
        const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header(url) } });
        jar.store(res);
        const location = res.headers.get("location");
        if (location) {
            url = new URL(location, url).toString();
            continue;
        }
        const page = await res.text();
        const form = /<form method="post" action="([^"]+)"/.exec(page);
        assert.ok(form, `no login form at ${url}: ${res.status} ${page.slice(0, 200)}`);
        const post = await fetch(new URL(form[1].replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))), url), {
            method: "POST",
            redirect: "manual",
            body: new URLSearchParams({ login }).toString(),
            headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header(url) },
        });
        jar.store(post);
        url = new URL(post.headers.get("location")!, url).toString();
    }
    throw new Error("the provider never sent the person back");
}

describe("sign-in through an OpenID provider (oidc-provider, in-process) into the service on the fixture", function () {
    this.timeout(180_000);
    let idp: IdentityProvider;
    let h: Harness;
    let dir: string;
    let ciToken: string;
    const clock = { offsetMs: 0 };

    const people = {
        olly: { name: "Olly Operator", email: "olly@example.com", groups: ["deployers"] },
        otto: { name: "Otto Operator", email: "otto@example.com", groups: ["deployers"] },
        ada: { name: "Ada Admin", email: "ada@example.com", groups: ["platform-admins", "readers"] },
        vic: { name: "Vic Viewer", email: "vic@example.com", groups: ["readers"] },
        mallory: { name: "Mallory", email: "mallory@example.com", groups: ["marketing"] },
        gone: { name: "Gone Soon", email: "gone@example.com", groups: ["deployers"] },
        quinn: { name: "Quinn Queuer", email: "quinn@example.com", groups: ["deployers"] },
    };

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sign-in-"));
        const port = await freePort();
        const publicUrl = `http://127.0.0.1:${port}`;
        idp = await startIdentityProvider({ redirectUris: [`${publicUrl}/auth/callback`], people });
        const roleMap = path.join(dir, "roles.yaml");
        fs.writeFileSync(roleMap, "admin: [platform-admins]\noperator: [deployers]\nviewer: [readers]\n");
        h = await startHarness({
            env: signInEnv(idp, port, roleMap),
            overrides: { now: () => new Date(Date.now() + clock.offsetMs) },
            prepare: (copy) => {
                ciToken = addToken(path.join(copy.dataDir, "tokens.json"), "ci", "operator");
            },
        });
    });
    after(async () => {
        await h?.stop();
        await idp?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    afterEach(() => {
        clock.offsetMs = 0;
        delete idp.tamperIdToken;
    });

    it("tells a signed-out page where to sign in, without credentials", async () => {
        const res = await call(h.url, "GET", "/v1/auth");
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { oidc: { enabled: true, loginUrl: "/auth/login", issuer: new URL(idp.issuer).origin }, tokens: true });
        const whoami = await call(h.url, "GET", "/v1/whoami");
        assert.equal(whoami.status, 401);
        assert.match(whoami.body.error.message, /sign in at \/auth\/login/);
    });

    it("signs a person in with the code flow and PKCE, in an httpOnly, Secure, SameSite=Strict cookie, with the role their group maps to", async () => {
        const { jar, last, visited } = await signIn(h.url, "olly");
        assert.equal(last.status, 303);
        assert.equal(last.headers.get("location"), "/");
        const authorize = new URL(visited.find((u) => u.startsWith(idp.issuer) && u.includes("/auth?"))!);
        assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
        assert.ok(authorize.searchParams.get("code_challenge"));
        assert.ok(authorize.searchParams.get("nonce"));
        assert.ok(authorize.searchParams.get("state"));
        const cookieLine = jar.setCookies.find((l) => l.startsWith(`${SESSION}=`))!;
        assert.match(cookieLine, /; HttpOnly/i);
        assert.match(cookieLine, /; Secure/i);
        assert.match(cookieLine, /; SameSite=Strict/i);
        assert.match(cookieLine, /; Path=\//i);
        const me = await asPerson(h, jar, "GET", "/v1/whoami");
        assert.equal(me.status, 200);
        assert.equal(me.body.name, "sso:olly");
        assert.equal(me.body.role, "operator");
        assert.equal(me.body.via, "session");
        assert.match(me.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
        assert.equal((await asPerson(h, jar, "GET", "/v1/stacks")).status, 200);
    });

    it("lets the person start a preview with the session's CSRF token, recorded as them in the job and the audit trail", async () => {
        const { jar } = await signIn(h.url, "olly");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const res = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { csrf: csrfToken, body: {}, headers: { origin: h.url } });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const job = await h.waitFor(res.body.id);
        assert.equal(job.triggeredBy, "sso:olly");
        assert.equal(job.triggeredVia, "session");
        assert.equal(job.state, "succeeded");
        const signIns = (await h.server.audit.page({ action: "session.sign-in", limit: 500 })).entries;
        assert.ok(signIns.some((e: { actor: { name: string }; result: string }) => e.actor.name === "sso:olly" && e.result === "ok"));
    });

    it("refuses a change made with the cookie without the CSRF token, with another session's, or from another site, and starts nothing", async () => {
        const { jar } = await signIn(h.url, "olly");
        const other = await signIn(h.url, "otto");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const othersToken = (await asPerson(h, other.jar, "GET", "/v1/whoami")).body.csrfToken;
        const before = (await asPerson(h, jar, "GET", "/v1/jobs")).body.jobs.length;
        const attempts: { csrf?: string; headers?: Record<string, string> }[] = [
            {},
            { csrf: othersToken },
            { csrf: "x".repeat(43) },
            { csrf: csrfToken, headers: { origin: "https://evil.example" } },
            { csrf: csrfToken, headers: { "sec-fetch-site": "cross-site" } },
        ];
        for (const a of attempts) {
            const res = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { body: {}, ...a });
            assert.equal(res.status, 403, JSON.stringify(a));
            assert.equal(res.body.error.code, "CSRF_TOKEN_INVALID");
        }
        assert.equal((await asPerson(h, jar, "GET", "/v1/jobs")).body.jobs.length, before);
    });

    it("takes the role away at the next change when the provider moves the person out of the group, and ends the session when it drops them", async () => {
        const { jar } = await signIn(h.url, "otto");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        idp.people.get("otto")!.groups = ["marketing"];
        const refused = await asPerson(h, jar, "POST", "/v1/stacks/dev/refreshes", { csrf: csrfToken, body: {} });
        assert.equal(refused.status, 403);
        assert.equal(refused.body.error.code, "NO_ROLE");
        // Reads are refused too from then on: the check recorded no role.
        assert.equal((await asPerson(h, jar, "GET", "/v1/stacks")).body.error.code, "NO_ROLE");
        idp.people.get("otto")!.groups = ["readers"];
        assert.equal((await asPerson(h, jar, "POST", "/v1/stacks/dev/refreshes", { csrf: csrfToken, body: {} })).body.error.code, "FORBIDDEN");
        assert.equal((await asPerson(h, jar, "GET", "/v1/whoami")).body.role, "viewer");

        const gone = await signIn(h.url, "gone");
        const goneCsrf = (await asPerson(h, gone.jar, "GET", "/v1/whoami")).body.csrfToken;
        idp.people.delete("gone");
        const ended = await asPerson(h, gone.jar, "POST", "/v1/stacks/dev/refreshes", { csrf: goneCsrf, body: {} });
        assert.equal(ended.status, 401);
        assert.equal(ended.body.error.code, "SESSION_ENDED");
        assert.equal((await asPerson(h, gone.jar, "GET", "/v1/whoami")).status, 401);
    });

    it("does not start a job the person queued once the provider takes their role away", async () => {
        const { jar } = await signIn(h.url, "quinn");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const first = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { csrf: csrfToken, body: {} });
        const queued = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { csrf: csrfToken, body: {} });
        assert.equal(queued.status, 202);
        idp.people.get("quinn")!.groups = ["marketing"];
        assert.equal((await asPerson(h, jar, "POST", "/v1/stacks/dev/refreshes", { csrf: csrfToken, body: {} })).body.error.code, "NO_ROLE");
        const done = await h.waitFor(queued.body.id);
        assert.deepEqual([done.state, done.error?.code], ["failed", "NO_ROLE"]);
        await h.waitFor(first.body.id);
    });

    it("gives someone in no mapped group no session, and says which groups they have and where roles are given", async () => {
        const { jar, last } = await signIn(h.url, "mallory");
        assert.equal(last.status, 403);
        const body = (await last.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "NO_ROLE");
        assert.match(body.error.message, /marketing/);
        assert.match(body.error.message, /roles\.yaml/);
        assert.equal(jar.get(SESSION), undefined);
    });

    describe("ID tokens the provider's answer carries, tampered with on the way", () => {
        const cases: [string, (idToken: string) => Promise<string>][] = [
            ["forged: signed by another key under the provider's key id", async (t) => {
                const { privateKey } = await generateKeyPair("RS256");
                return new SignJWT(decodeJwt(t)).setProtectedHeader({ alg: "RS256", kid: decodeProtectedHeader(t).kid! }).sign(privateKey);
            }],
            ["expired an hour ago", async (t) => resign({ ...decodeJwt(t), iat: now() - 7200, exp: now() - 3600 })],
            ["issued for another client", async (t) => resign({ ...decodeJwt(t), aud: "another-client" })],
            ["issued by another issuer", async (t) => resign({ ...decodeJwt(t), iss: "https://evil.example" })],
            ["for another sign-in's nonce", async (t) => resign({ ...decodeJwt(t), nonce: "someone-elses-nonce" })],
            ["unsigned (alg none)", async (t) => `${b64({ alg: "none", typ: "JWT" })}.${b64(decodeJwt(t))}.`],
        ];
        const now = () => Math.floor(Date.now() / 1000);
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const resign = async (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: idp.signingKey.kid }).sign(await importJWK(idp.signingKey.privateJwk, "RS256"));

        for (const [what, tamper] of cases) {
            it(`refuses an ID token ${what}: no session, and the refusal audited`, async () => {
                idp.tamperIdToken = tamper;
                const { jar, last } = await signIn(h.url, "ada");
                assert.equal(last.status, 401, what);
                assert.equal(((await last.json()) as { error: { code: string } }).error.code, "SIGN_IN_FAILED");
                assert.equal(jar.get(SESSION), undefined);
                assert.equal((await asPerson(h, jar, "GET", "/v1/whoami")).status, 401);
            });
        }
        it("signs in with the untouched answer (the tampering above is what was refused)", async () => {
            const { jar, last } = await signIn(h.url, "ada");
            assert.equal(last.status, 303);
            assert.equal((await asPerson(h, jar, "GET", "/v1/whoami")).body.role, "admin");
        });
    });

    it("refuses a return the browser did not start (login CSRF), a replayed one, and one past ten minutes", async () => {
        const victim = new CookieJar();
        const attacker = new CookieJar();
        // The attacker's own sign-in, whose return they try to land in the victim's browser.
        const attackersReturn = await untilCallback(h, "mallory", attacker);
        const landed = await fetch(attackersReturn, { redirect: "manual", headers: { cookie: victim.header(attackersReturn) } });
        assert.equal(landed.status, 401);
        assert.equal(((await landed.json()) as { error: { code: string } }).error.code, "SIGN_IN_FAILED");

        const mine = new CookieJar();
        const ret = await untilCallback(h, "vic", mine);
        const first = await fetch(ret, { redirect: "manual", headers: { cookie: mine.header(ret) } });
        assert.equal(first.status, 303);
        const replay = await fetch(ret, { redirect: "manual", headers: { cookie: mine.header(ret) } });
        assert.equal(replay.status, 401);

        const slow = new CookieJar();
        const late = await untilCallback(h, "vic", slow);
        clock.offsetMs = 11 * 60_000;
        const answer = await fetch(late, { redirect: "manual", headers: { cookie: slow.header(late) } });
        assert.equal(answer.status, 401);
        assert.match(((await answer.json()) as { error: { message: string } }).error.message, /longer than 10 minutes/);
    });

    it("sends people back only to paths of this service after signing in", async () => {
        for (const [returnTo, expected] of [
            ["/?stack=prod", "/?stack=prod"],
            ["//evil.example/x", "/"],
            ["https://evil.example/", "/"],
            ["/\\evil.example", "/"],
            ["javascript:alert(1)", "/"],
        ]) {
            const { last } = await signIn(h.url, "vic", new CookieJar(), `/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
            assert.equal(last.headers.get("location"), expected, returnTo);
        }
    });

    it("ends a session past its lifetime and says to sign in again", async () => {
        const { jar } = await signIn(h.url, "vic");
        clock.offsetMs = 13 * 3_600_000;
        const res = await asPerson(h, jar, "GET", "/v1/whoami");
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, "SESSION_ENDED");
        assert.match(res.body.error.message, /\/auth\/login/);
    });

    it("signs out: the cookie cleared, the session gone on the server, the old cookie refused, the provider's sign-out page offered", async () => {
        const { jar } = await signIn(h.url, "vic");
        const stolen = jar.get(SESSION)!;
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const out = await fetch(`${h.url}/auth/logout`, { method: "POST", headers: { cookie: jar.header(`${h.url}/auth/logout`), "x-csrf-token": csrfToken } });
        assert.equal(out.status, 200);
        const body = (await out.json()) as { signedOut: boolean; providerSignOut: string };
        assert.equal(body.signedOut, true);
        assert.ok(body.providerSignOut.startsWith(idp.issuer), body.providerSignOut);
        assert.ok(out.headers.getSetCookie().some((l) => l.startsWith(`${SESSION}=;`)));
        const replay = await call(h.url, "GET", "/v1/whoami", { headers: { cookie: `${SESSION}=${stolen}` } });
        assert.equal(replay.status, 401);
        assert.equal(replay.body.error.code, "SESSION_ENDED");
    });

    it("keeps bearer tokens for machines alongside, and a token's request needs no CSRF token", async () => {
        const res = await call(h.url, "POST", "/v1/stacks/dev/previews", { token: ciToken, body: {} });
        assert.equal(res.status, 202);
        await h.waitFor(res.body.id);
        const me = await call(h.url, "GET", "/v1/whoami", { token: ciToken });
        assert.deepEqual(me.body, { name: "ci", role: "operator", via: "token" });
    });

    // Last: it stops the provider.
    describe("with the provider gone", () => {
        it("refuses every change when the provider cannot be asked (fails closed), while tokens still work", async () => {
            const { jar } = await signIn(h.url, "olly");
            const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
            await idp.close();
            const res = await asPerson(h, jar, "POST", "/v1/stacks/dev/refreshes", { csrf: csrfToken, body: {} });
            assert.equal(res.status, 503);
            assert.equal(res.body.error.code, "IDENTITY_PROVIDER_UNAVAILABLE");
            assert.match(res.body.error.message, /Tokens \(Authorization: Bearer\) still work/);
            assert.equal((await call(h.url, "GET", "/v1/whoami", { token: ciToken })).status, 200);
        });
    });
});
