// Sign-in attacked as an outsider (or an insider about to leave) would: against a real OpenID
// provider (oidc-provider, in this process, over HTTPS) and the real service on the fixture.
// Each test is an attack on a promise of docs/sign-in.md that once succeeded, or one that holds
// and must keep holding.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addToken } from "../../../automation/security/tokens";
import { call, startHarness, type Harness } from "../harness";
import { CookieJar, signIn, startIdentityProvider, type IdentityProvider, freePort, signInEnv } from "../identityProvider";

const SESSION = "__Host-automation-session";

/** A request made as a browser of `jar` would, with the session's CSRF token when given. */
async function asPerson(h: Harness, jar: CookieJar, method: string, url: string, o: { csrf?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    return call(h.url, method, url, { ...(o.body !== undefined ? { body: o.body } : {}), headers: { cookie: jar.header(h.url + url), ...(o.csrf ? { "x-csrf-token": o.csrf } : {}), ...o.headers } });
}

describe("sign-in attacked: names, roles taken away, redirects and cookies (oidc-provider in-process, the service on the fixture)", function () {
    this.timeout(180_000);
    let idp: IdentityProvider;
    let h: Harness;
    let dir: string;
    let ciToken: string;

    const people = {
        alice: { name: "Alice Admin", email: "alice@example.com", groups: ["platform-admins"] },
        // Chose "alice" as her username where the provider lets people choose it (or a GitHub
        // login Alice gave up, behind Dex): a different person, a different subject.
        mal: { name: "Mal", email: "mal@example.com", groups: ["readers"], username: "alice" },
        quinn: { name: "Quinn Queuer", email: "quinn@example.com", groups: ["deployers"] },
        rita: { name: "Rita Release", email: "rita@example.com", groups: ["release-managers"] },
        vic: { name: "Vic Viewer", email: "vic@example.com", groups: ["readers"] },
    };

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sign-in-attacks-"));
        const port = await freePort();
        const publicUrl = `http://127.0.0.1:${port}`;
        idp = await startIdentityProvider({ redirectUris: [`${publicUrl}/auth/callback`], people });
        const roleMap = path.join(dir, "roles.yaml");
        fs.writeFileSync(roleMap, "admin: [platform-admins]\napprover: [release-managers]\noperator: [deployers]\nviewer: [readers]\n");
        h = await startHarness({
            env: signInEnv(idp, port, roleMap),
            policies: { "prod.yaml": "operations:\n  update: { approvals: 1, approverRole: approver }\n" },
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

    it("refuses a second person at the provider who claims the username another person signs in under, so nobody acts as sso:alice but Alice", async () => {
        const alice = await signIn(h.url, "alice");
        assert.equal((await asPerson(h, alice.jar, "GET", "/v1/whoami")).body.name, "sso:alice");

        const { jar, last } = await signIn(h.url, "mal");
        assert.equal(last.status, 401);
        const body = (await last.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "SIGN_IN_FAILED");
        assert.match(body.error.message, /sso:alice/);
        assert.equal(jar.get(SESSION), undefined);
        // Alice is still herself, with her own role.
        const again = await signIn(h.url, "alice");
        assert.deepEqual(
            [(await asPerson(h, again.jar, "GET", "/v1/whoami")).body.name, (await asPerson(h, again.jar, "GET", "/v1/whoami")).body.role],
            ["sso:alice", "admin"],
        );
        const refusals = (await h.server.audit.page({ action: "session.sign-in", limit: 500 })).entries as { actor: { name: string }; result: string; details?: { reason?: string } }[];
        assert.ok(refusals.some((e) => e.result === "denied" && /another person/.test(e.details?.reason ?? "")), "the refusal is audited");
    });

    it("does not start a job queued by a person whose role the provider took away, though they never came back to make a request", async () => {
        const { jar } = await signIn(h.url, "quinn");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const first = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { csrf: csrfToken, body: {} });
        const queued = await asPerson(h, jar, "POST", "/v1/stacks/dev/previews", { csrf: csrfToken, body: {} });
        assert.equal(queued.status, 202);
        // Quinn leaves the team and closes the browser: the service hears nothing more from them.
        idp.people.get("quinn")!.groups = ["marketing"];
        const done = await h.waitFor(queued.body.id);
        assert.deepEqual([done.state, done.error?.code], ["failed", "NO_ROLE"]);
        await h.waitFor(first.body.id);
    });

    it("does not count the approval of a person the provider has since moved out of the approvers' group, though they never came back", async () => {
        const preview = await call(h.url, "POST", "/v1/stacks/prod/previews", { token: ciToken, body: {} });
        assert.equal(preview.status, 202);
        assert.equal((await h.waitFor(preview.body.id)).state, "succeeded");
        const { jar } = await signIn(h.url, "rita");
        const { csrfToken } = (await asPerson(h, jar, "GET", "/v1/whoami")).body;
        const approved = await asPerson(h, jar, "POST", `/v1/jobs/${preview.body.id}/approvals`, { csrf: csrfToken, body: { decision: "approve" } });
        assert.equal(approved.status, 201, JSON.stringify(approved.body));
        idp.people.get("rita")!.groups = ["readers"];
        const update = await call(h.url, "POST", "/v1/stacks/prod/updates", { token: ciToken, body: { previewId: preview.body.id } });
        assert.equal(update.status, 409, JSON.stringify(update.body));
        assert.match(JSON.stringify(update.body.error), /sso:rita/);
    });

    it("sends people back only to paths of this service whatever the encoding of returnTo (percent, tabs, newlines, unicode slashes)", async () => {
        const attempts = ["/%2F%2Fevil.example", "/\t/evil.example", "/\n/evil.example", "\t//evil.example", "/\uff0f/evil.example", "/\u3000/evil.example", "%2F%2Fevil.example", "/\\/evil.example"];
        for (const returnTo of attempts) {
            const { last } = await signIn(h.url, "vic", new CookieJar(), `/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
            assert.equal(last.status, 303, JSON.stringify(returnTo));
            const landed = new URL(last.headers.get("location")!, `${h.url}/auth/callback`);
            assert.equal(landed.origin, h.url, JSON.stringify(returnTo));
            assert.ok(!landed.pathname.startsWith("//"), `${JSON.stringify(returnTo)} → ${landed.href}`);
        }
    });

    it("judges a request with both a bearer header and a session cookie by the header alone: a bad token is not rescued by the cookie", async () => {
        const { jar } = await signIn(h.url, "alice");
        const res = await asPerson(h, jar, "GET", "/v1/whoami", { headers: { authorization: "Bearer not-a-token" } });
        assert.equal(res.status, 401);
        const withToken = await asPerson(h, jar, "GET", "/v1/whoami", { headers: { authorization: `Bearer ${ciToken}` } });
        assert.deepEqual([withToken.body.name, withToken.body.csrfToken], ["ci", undefined]);
    });

    it("refuses a sign-out posted from another site or without the CSRF token, and the session lives on", async () => {
        const { jar } = await signIn(h.url, "vic");
        for (const headers of [{}, { origin: "https://evil.example" }] as Record<string, string>[]) {
            const out = await fetch(`${h.url}/auth/logout`, { method: "POST", headers: { cookie: jar.header(`${h.url}/auth/logout`), ...headers } });
            assert.equal(out.status, 403, JSON.stringify(headers));
        }
        assert.equal((await asPerson(h, jar, "GET", "/v1/whoami")).status, 200);
    });
});
