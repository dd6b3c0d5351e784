// What sign-in keeps and decides, apart from the provider: the sessions' store on the embedded
// SQLite and on a real Postgres (several instances share it), and the pure rules (return paths,
// names, cookies, role maps, settings).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, loadConfig } from "../../../automation/config";
import { readCookie } from "../../../automation/security/middleware";
import { fileRoleMap, parseRoleMap, roleFor } from "../../../automation/security/roleMap";
import { secretHash, type Session } from "../../../automation/security/sessions";
import { personName, safeReturnTo } from "../../../automation/security/signIn";
import { tokenNameProblem } from "../../../automation/security/tokens";
import { openStores, type Stores, type StoresOptions } from "../../../automation/storage/stores";
import { startPostgres, type TestPostgres } from "../../support/postgres";

const session = (over: Partial<Session> = {}): Session => ({
    idHash: secretHash("cookie-secret"),
    name: "sso:olly",
    subject: "olly",
    role: "operator",
    csrfToken: "csrf",
    accessToken: "at",
    accessExpiresAt: "2026-12-06T13:00:00.000Z",
    refreshToken: "rt",
    idToken: "it",
    createdAt: "2026-12-06T12:00:00.000Z",
    expiresAt: "2026-12-07T00:00:00.000Z",
    checkedAt: "2026-12-06T12:00:00.000Z",
    ...over,
});

function sessionStoreContract(open: () => Promise<Stores>) {
    let stores: Stores;
    beforeEach(async () => (stores = await open()));
    afterEach(async () => stores.close());

    it("gives a sign-in under way back once: a second return with the same cookie finds nothing", async () => {
        const s = stores.sessions;
        await s.startSignIn("h1", { state: "st", nonce: "n", codeVerifier: "v", returnTo: "/x", createdAt: "2026-12-06T12:00:00.000Z" });
        const [a, b] = await Promise.all([s.takeSignIn("h1"), s.takeSignIn("h1")]);
        assert.deepEqual([a, b].filter(Boolean), [{ state: "st", nonce: "n", codeVerifier: "v", returnTo: "/x", createdAt: "2026-12-06T12:00:00.000Z" }]);
    });
    it("keeps a session by the hash of its secret only, with its access token's expiry", async () => {
        await stores.sessions.create(session());
        assert.deepEqual(await stores.sessions.find(secretHash("cookie-secret")), session());
        assert.equal(await stores.sessions.find("cookie-secret"), undefined);
    });
    it("records one of two checks made at the same moment (a refresh token is used once), and tells the other", async () => {
        await stores.sessions.create(session());
        const check = (role: "viewer" | "admin") => stores.sessions.recordCheck(secretHash("cookie-secret"), "2026-12-06T12:00:00.000Z", { role, accessToken: role, accessExpiresAt: null, refreshToken: role, idToken: null, checkedAt: "2026-12-06T12:05:00.000Z" });
        const results = await Promise.all([check("viewer"), check("admin")]);
        assert.deepEqual(results.sort(), [false, true]);
        const after = (await stores.sessions.find(secretHash("cookie-secret")))!;
        assert.equal(after.accessToken, after.role, "the row is one check's answer, not a mix");
    });
    it("ends a session once, drops expired sessions and stale sign-ins, and keeps each person's role as last seen", async () => {
        await stores.sessions.create(session());
        await stores.sessions.create(session({ idHash: "old", expiresAt: "2026-12-06T12:30:00.000Z" }));
        await stores.sessions.startSignIn("stale", { state: "s", nonce: "n", codeVerifier: "v", returnTo: "/", createdAt: "2026-12-06T11:00:00.000Z" });
        await stores.sessions.prune(new Date("2026-12-06T13:00:00.000Z"), new Date("2026-12-06T12:50:00.000Z"));
        assert.equal(await stores.sessions.find("old"), undefined);
        assert.equal(await stores.sessions.takeSignIn("stale"), undefined);
        assert.equal((await stores.sessions.end(secretHash("cookie-secret")))?.name, "sso:olly");
        assert.equal(await stores.sessions.end(secretHash("cookie-secret")), undefined);
        await stores.sessions.recordPerson("sso:olly", "operator", new Date("2026-12-06T12:00:00.000Z"));
        await stores.sessions.recordPerson("sso:olly", null, new Date("2026-12-06T12:10:00.000Z"));
        assert.deepEqual(await stores.sessions.people(), [{ name: "sso:olly", role: null, checkedAt: "2026-12-06T12:10:00.000Z" }]);
    });
    it("binds a name to the first subject signing in under it, an older row to its next, and tells any other subject no", async () => {
        const at = new Date("2026-12-06T12:00:00.000Z");
        await stores.sessions.recordPerson("sso:ada", "admin", at);
        // Two subjects at the same moment: one gets the name, for good.
        const subjects = ["ada-subject", "mal-subject"];
        const won = await Promise.all(subjects.map((s) => stores.sessions.claimName("sso:ada", s, at)));
        assert.equal(won.filter(Boolean).length, 1);
        const [owner, other] = won[0] ? subjects : [...subjects].reverse();
        assert.deepEqual([await stores.sessions.claimName("sso:ada", owner, at), await stores.sessions.claimName("sso:ada", other, at)], [true, false]);
        assert.deepEqual(await stores.sessions.person("sso:ada"), { role: "admin" });
    });
}

const options = (dataDir: string, databaseUrl?: string): StoresOptions => ({ dataDir, databaseUrl, redact: (v) => v, now: () => new Date(), auditMaxBytes: 1 << 20, onAuditError: () => undefined });

describe("the sessions of people signed in, on the embedded SQLite", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "sessions-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    sessionStoreContract(() => openStores(options(dir)));
});

describe("the sessions of people signed in, on a shared Postgres", function () {
    this.timeout(120_000);
    let pg: TestPostgres;
    let dir: string;
    before(() => (pg = startPostgres()));
    after(() => pg?.stop());
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "sessions-pg-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    sessionStoreContract(async () => openStores(options(dir, await pg.newDatabase())));
});

describe("sign-in's rules", () => {
    it("returns people only to a path of this service", () => {
        for (const bad of ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "", "/x\u0000y", "/a\\b", 42, undefined, "/" + "a".repeat(1000)]) assert.equal(safeReturnTo(bad), "/", String(bad));
        for (const good of ["/", "/?stack=prod", "/jobs/abc"]) assert.equal(safeReturnTo(good), good);
    });
    it("names a person by username, else email, else a hash of the subject, always under sso:", () => {
        assert.equal(personName({ sub: "1", preferred_username: "olly" }), "sso:olly");
        assert.equal(personName({ sub: "1", preferred_username: "olly smith", email: "olly@example.com" }), "sso:olly@example.com");
        assert.match(personName({ sub: "weird sub/with spaces" }), /^sso:sub-[0-9a-f]{16}$/);
    });
    it("reserves sso: names for people: no token may be created under one", () => {
        assert.match(tokenNameProblem("sso:olly")!, /reserved for people/);
        assert.match(tokenNameProblem("SSO:olly")!, /reserved for people/);
    });
    it("reads the first cookie of a name from a Cookie header, and nothing from a name it merely ends with", () => {
        assert.equal(readCookie("a=1; __Host-automation-session=s1; b=2", "__Host-automation-session"), "s1");
        assert.equal(readCookie("x__Host-automation-session=evil", "__Host-automation-session"), undefined);
        assert.equal(readCookie(undefined, "a"), undefined);
    });
    it("gives the highest role any of the person's groups maps to, and none for a claim that is not a list of names", () => {
        const map = parseRoleMap("admin: [platform-admins]\noperator: [deployers]\nviewer: ['*']\n", "roles.yaml");
        assert.equal(roleFor(["deployers", "platform-admins"], map), "admin");
        assert.equal(roleFor("deployers", map), "operator");
        assert.equal(roleFor([], map), "viewer");
        const strict = parseRoleMap("operator: [deployers]\n", "roles.yaml");
        assert.equal(roleFor(undefined, strict), undefined);
        assert.equal(roleFor({ deployers: true }, strict), undefined);
        assert.equal(roleFor([["deployers"]], strict), undefined);
    });
    it("refuses a role map that names an unknown role or gives no role at all, naming the file and the entry", () => {
        assert.throws(() => parseRoleMap("root: [x]\n", "/etc/roles.yaml"), /\/etc\/roles\.yaml: .*root/);
        assert.throws(() => parseRoleMap("admin: []\n", "/etc/roles.yaml"), /gives no role to any group/);
        assert.throws(() => parseRoleMap("admin: [platform-admins\n", "/etc/roles.yaml"), /not valid YAML/);
    });
    it("re-reads a changed role map, and keeps the last valid one when the file breaks", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "role-map-"));
        try {
            const file = path.join(dir, "roles.yaml");
            fs.writeFileSync(file, "operator: [deployers]\n");
            const problems: string[] = [];
            const current = fileRoleMap(file, (e) => problems.push(e.message));
            assert.equal(roleFor(["deployers"], current()), "operator");
            fs.writeFileSync(file, "admin: [deployers]\n# longer, so the size differs\n");
            assert.equal(roleFor(["deployers"], current()), "admin");
            fs.writeFileSync(file, "admin: [deployers\n");
            assert.equal(roleFor(["deployers"], current()), "admin");
            assert.equal(problems.length, 1);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("settings", () => {
        const base = { AUTOMATION_OIDC_ISSUER: "https://login.example.com/realms/main", AUTOMATION_OIDC_CLIENT_ID: "automation", AUTOMATION_OIDC_ROLE_MAP: "/etc/automation/roles.yaml", AUTOMATION_PUBLIC_URL: "https://automation.example.com/" };
        const problems = (env: Record<string, string>) => {
            try {
                loadConfig(env);
                return [];
            } catch (e) {
                assert.ok(e instanceof ConfigError, String(e));
                return e.problems;
            }
        };
        it("turns sign-in on with the issuer, with the callback under the public URL and groups, 1 min and 12 h by default", () => {
            const c = loadConfig(base);
            assert.equal(c.oidc?.redirectUrl, "https://automation.example.com/auth/callback");
            assert.equal(c.oidc?.rolesClaim, "groups");
            assert.deepEqual(c.oidc?.scopes, ["openid", "profile", "email"]);
            assert.equal(c.oidc?.recheckMs, 60_000);
            assert.equal(c.oidc?.sessionTtlMs, 12 * 3_600_000);
            assert.equal(loadConfig({}).oidc, undefined);
        });
        it("names each setting the issuer needs and is missing", () => {
            const got = problems({ AUTOMATION_OIDC_ISSUER: base.AUTOMATION_OIDC_ISSUER });
            assert.equal(got.length, 3);
            assert.match(got.join("\n"), /AUTOMATION_OIDC_CLIENT_ID: must be set/);
            assert.match(got.join("\n"), /AUTOMATION_OIDC_ROLE_MAP: must be set/);
            assert.match(got.join("\n"), /AUTOMATION_PUBLIC_URL: must be set .*\/auth\/callback/);
        });
        it("refuses a provider or a public address over plain http off loopback, and sign-in settings without an issuer", () => {
            assert.match(problems({ ...base, AUTOMATION_OIDC_ISSUER: "http://login.example.com" }).join(), /AUTOMATION_OIDC_ISSUER: must be an https URL/);
            assert.match(problems({ ...base, AUTOMATION_PUBLIC_URL: "http://automation.example.com" }).join(), /AUTOMATION_PUBLIC_URL: must be https with sign-in on/);
            assert.deepEqual(problems({ ...base, AUTOMATION_OIDC_ISSUER: "http://127.0.0.1:8080", AUTOMATION_PUBLIC_URL: "http://localhost:3000" }), []);
            assert.match(problems({ AUTOMATION_OIDC_CLIENT_ID: "x" }).join(), /AUTOMATION_OIDC_ISSUER: must be set when AUTOMATION_OIDC_CLIENT_ID is/);
        });
        it("never echoes the client secret in an error", () => {
            const got = problems({ ...base, AUTOMATION_OIDC_CLIENT_SECRET: "s3cr3t-value", AUTOMATION_OIDC_RECHECK_MS: "-1" });
            assert.ok(got.length > 0);
            assert.ok(!got.join().includes("s3cr3t-value"));
        });
    });
});
