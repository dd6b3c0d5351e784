import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    addToken,
    fileTokens,
    findToken,
    generateToken,
    hashToken,
    parseTokenFile,
    roleAtLeast,
    staticTokens,
    StoredToken,
} from "../../../automation/security/tokens";
import { sameTokens } from "../../../automation/security/tokenStore";
import { createRedactor, REDACTED } from "../../../automation/security/redact";
import { verifyGithubSignature } from "../../../automation/security/signature";
import { authenticate, principalOf, requireRole } from "../../../automation/security/middleware";
import { mutationRateLimit, refusalRateLimit } from "../../../automation/security/rateLimit";
import { serve } from "./helpers";

describe("bearer tokens", () => {
    it("finds the holder of a token by its stored hash and no one for an unknown token", () => {
        const token = generateToken();
        const stored: StoredToken[] = [
            { name: "ci", role: "operator", hash: hashToken(generateToken()) },
            { name: "alice", role: "approver", hash: hashToken(token) },
        ];
        assert.equal(findToken(stored, token)?.name, "alice");
        assert.equal(findToken(stored, generateToken()), undefined);
    });
    it("finds a token in the list given, not in an earlier list's index: one created, one revoked, a hash in capitals", () => {
        const [a, b] = [generateToken(), generateToken()];
        const before: StoredToken[] = [{ name: "a", role: "viewer", hash: hashToken(a) }];
        assert.equal(findToken(before, b), undefined);
        const after: StoredToken[] = [{ name: "b", role: "admin", hash: hashToken(b).toUpperCase() }];
        assert.equal(findToken(after, b)?.name, "b");
        assert.equal(findToken(after, a), undefined, "revoked");
        assert.equal(findToken(before, a)?.name, "a");
    });
    it("judges a static list as it was given, whatever its caller edits later, and a hash pasted with sha256sum's trailing '  -'", () => {
        const [a, b] = [generateToken(), generateToken()];
        const list: StoredToken[] = [{ name: "a", role: "viewer", hash: `${hashToken(a)}  -` }];
        const verifier = staticTokens(list);
        assert.equal(verifier.verify(a)?.name, "a");
        list.splice(0, 1, { name: "b", role: "admin", hash: hashToken(b) });
        assert.equal(verifier.verify(a)?.name, "a");
        assert.equal(verifier.verify(b), undefined);
    });
    it("tells a re-read list of the same tokens from one where any field of any token changed, a token was added, or the order moved", () => {
        const list = (): StoredToken[] => [
            { name: "ci", role: "operator", hash: hashToken("a"), createdAt: "2026-01-01T00:00:00.000Z" },
            { name: "bo", role: "viewer", hash: hashToken("b"), createdAt: "2026-01-02T00:00:00.000Z", expiresAt: "2027-01-01T00:00:00.000Z" },
        ];
        assert.ok(sameTokens(list(), list()));
        const changed: Array<(l: StoredToken[]) => void> = [
            (l) => (l[1].role = "admin"),
            (l) => (l[0].hash = hashToken("c")),
            (l) => (l[0].name = "cj"),
            (l) => (l[1].expiresAt = "2026-06-01T00:00:00.000Z"),
            (l) => delete l[1].expiresAt,
            (l) => (l[0].expiresAt = "2027-01-01T00:00:00.000Z"),
            (l) => (l[0].createdAt = "2026-03-01T00:00:00.000Z"),
            (l) => l.push({ name: "new", role: "viewer", hash: hashToken("d") }),
            (l) => l.pop(),
            (l) => l.reverse(),
        ];
        for (const [i, change] of changed.entries()) {
            const l = list();
            change(l);
            assert.equal(sameTokens(list(), l), false, `change ${i}`);
            assert.equal(sameTokens(l, list()), false, `change ${i}, the other way`);
        }
    });
    it("generates distinct tokens carrying 256 random bits", () => {
        const a = generateToken();
        assert.notEqual(a, generateToken());
        assert.equal(Buffer.from(a.slice(4), "base64url").length, 32);
    });
    it("orders roles viewer < operator < approver < admin", () => {
        assert.ok(roleAtLeast("admin", "approver"));
        assert.ok(roleAtLeast("operator", "operator"));
        assert.ok(!roleAtLeast("operator", "approver"));
        assert.ok(!roleAtLeast("viewer", "operator"));
    });
});

describe("token file", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokens-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("stores only the hash of a created token, readable by its owner alone", () => {
        const file = path.join(dir, "tokens.json");
        const token = addToken(file, "alice", "approver");
        const text = fs.readFileSync(file, "utf8");
        assert.ok(!text.includes(token), "the plain token was written to disk");
        assert.ok(text.includes(hashToken(token)));
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.deepEqual(fileTokens(file).verify(token), { name: "alice", role: "approver", via: "token" });
    });
    it("rotates a name's token: the old token stops working, the new one works", () => {
        const file = path.join(dir, "tokens.json");
        const old = addToken(file, "ci", "operator");
        const verifier = fileTokens(file);
        assert.equal(verifier.verify(old)?.name, "ci");
        const fresh = addToken(file, "ci", "admin");
        // a running service picks the change up without a restart
        assert.equal(verifier.verify(old), undefined);
        assert.equal(verifier.verify(fresh)?.role, "admin");
        assert.equal(verifier.count(), 1);
    });
    it("fails on a file with an unknown role, naming the entry and the expected shape", () => {
        const text = JSON.stringify({ tokens: [{ name: "x", role: "root", hash: "a".repeat(64) }] });
        assert.throws(() => parseTokenFile(text, "tokens.json"), /tokens\.json: tokens\.0\.role: .*expected \{"tokens"/);
    });
    it("fails on a file that is not JSON, saying how to recreate it", () => {
        assert.throws(() => parseTokenFile("{nope", "t.json"), /t\.json is not valid JSON .*npm run token/);
    });
    it("knows nobody when the token file does not exist", () => {
        assert.equal(fileTokens(path.join(dir, "absent.json")).verify(generateToken()), undefined);
    });
});

describe("authentication and roles over HTTP", () => {
    const viewer = generateToken();
    const admin = generateToken();
    const tokens = staticTokens([
        { name: "vera", role: "viewer", hash: hashToken(viewer) },
        { name: "ada", role: "admin", hash: hashToken(admin) },
    ]);
    let srv: Awaited<ReturnType<typeof serve>>;
    before(async () => {
        srv = await serve((app) => {
            app.use(authenticate(tokens));
            app.get("/read", requireRole("viewer"), (_req, res) => void res.json({ who: principalOf(res)?.name }));
            app.post("/destroy", requireRole("admin"), (_req, res) => void res.json({ who: principalOf(res)?.name }));
        });
    });
    after(() => srv.close());
    const call = (method: string, p: string, token?: string, scheme = "Bearer") =>
        fetch(srv.url + p, { method, headers: token ? { authorization: `${scheme} ${token}` } : {} });

    it("answers 401 UNAUTHENTICATED without an Authorization header", async () => {
        const res = await call("GET", "/read");
        assert.equal(res.status, 401);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UNAUTHENTICATED");
    });
    it("answers 401 for an unknown token and for a non-bearer scheme", async () => {
        assert.equal((await call("GET", "/read", generateToken())).status, 401);
        assert.equal((await call("GET", "/read", viewer, "Basic")).status, 401);
    });
    it("answers 403 FORBIDDEN naming the required role when a viewer tries an admin action", async () => {
        const res = await call("POST", "/destroy", viewer);
        assert.equal(res.status, 403);
        const body = (await res.json()) as { error: { code: string; details: unknown } };
        assert.equal(body.error.code, "FORBIDDEN");
        assert.deepEqual(body.error.details, { required: "admin", held: "viewer" });
    });
    it("attributes an allowed request to the token's principal", async () => {
        const res = await call("POST", "/destroy", admin);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { who: "ada" });
        assert.deepEqual(await (await call("GET", "/read", admin)).json(), { who: "ada" });
    });
});

describe("rate limiting of mutating routes", () => {
    const token = generateToken();
    let srv: Awaited<ReturnType<typeof serve>>;
    before(async () => {
        srv = await serve((app) => {
            app.use(authenticate(staticTokens([{ name: "ci", role: "operator", hash: hashToken(token) }])));
            app.use(mutationRateLimit({ limit: 3, windowMs: 60_000 }));
            app.all("/x", (_req, res) => void res.json({ ok: true }));
        });
    });
    after(() => srv.close());
    const call = (method: string) => fetch(srv.url + "/x", { method, headers: { authorization: `Bearer ${token}` } });

    it("answers 429 RATE_LIMITED after the limit of mutating requests and keeps serving reads", async () => {
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await call("POST")).status);
        assert.deepEqual(statuses, [200, 200, 200, 429]);
        const limited = await call("POST");
        assert.equal(((await limited.json()) as { error: { code: string } }).error.code, "RATE_LIMITED");
        assert.equal((await call("GET")).status, 200);
    });
});

describe("refusal rate limit", () => {
    let srv: Awaited<ReturnType<typeof serve>>;
    const token = generateToken();
    before(async () => {
        srv = await serve((app) => {
            app.use(authenticate(staticTokens([{ name: "ci", role: "viewer", hash: hashToken(token) }])));
            app.use(refusalRateLimit({ limit: 5, windowMs: 60_000 }));
            // A read that takes a while, as one does on a busy database.
            app.get("/slow", (_req, res) => void setTimeout(() => res.json({ ok: true }), 100));
            app.get("/missing", (_req, res) => void res.status(404).json({ error: { code: "NOT_FOUND" } }));
        });
    });
    after(() => srv.close());
    const call = (p: string) => fetch(srv.url + p, { headers: { authorization: `Bearer ${token}` } });

    it("serves a caller with many more reads in flight at once than the limit, none of them refused", async () => {
        const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await call("/slow")).status));
        assert.deepEqual([...new Set(statuses)], [200]);
    });

    it("answers 429 once the caller's refused requests reach the limit, with a Retry-After", async () => {
        const statuses = [];
        for (let i = 0; i < 6; i++) statuses.push((await call("/missing")).status);
        assert.deepEqual(statuses, [404, 404, 404, 404, 404, 429]);
        const limited = await call("/slow");
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers.get("retry-after")) > 0);
    });
});

describe("redactor", () => {
    const env = { AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", PULUMI_CONFIG_PASSPHRASE: "hunter22", HOME: "/root" };
    const r = createRedactor({ secrets: ["db-password-123"], env });

    it("removes planted secret config values and worker credentials but keeps ordinary env values", () => {
        const out = r.redact(`pw=db-password-123 key=${env.AWS_SECRET_ACCESS_KEY} pass=hunter22 home=/root`);
        assert.equal(out, `pw=${REDACTED} key=${REDACTED} pass=${REDACTED} home=/root`);
    });
    it("removes a secret printed as base64 (padded or not), base64url or hex, as a program trying to slip it past would", () => {
        const secret = "db-password-123";
        const bytes = Buffer.from(secret);
        for (const encoded of [bytes.toString("base64"), bytes.toString("base64").replace(/=+$/, ""), bytes.toString("base64url"), bytes.toString("hex")]) {
            assert.equal(r.redact(`leak ${encoded} end`), `leak ${REDACTED} end`, encoded);
        }
    });
    it("removes access key ids, GitHub tokens, private keys, service tokens and bearer tokens by pattern", () => {
        const planted = [
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_" + "a".repeat(36),
            "github_pat_" + "B".repeat(30),
            generateToken(),
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        ];
        const out = r.redact(`${planted.join(" | ")} | Authorization: Bearer abc.def.ghi123`);
        for (const p of planted) assert.ok(!out.includes(p), `leaked ${p}`);
        assert.ok(!out.includes("abc.def.ghi123"));
        assert.ok(out.includes("Bearer " + REDACTED));
    });
    it("removes a secret with a quote and a newline in its JSON-escaped form too", () => {
        const tricky = createRedactor({ secrets: ['pa"ss\nword'] });
        const stored = JSON.stringify({ v: 'pa"ss\nword' });
        assert.equal(tricky.redact(stored), JSON.stringify({ v: REDACTED }));
    });
    it("redacts strings nested in objects and arrays without touching other values", () => {
        const out = r.redactDeep({ outputs: { dbPassword: "db-password-123", port: 5432 }, log: ["x hunter22"] });
        assert.deepEqual(out, { outputs: { dbPassword: REDACTED, port: 5432 }, log: [`x ${REDACTED}`] });
    });
    it("learns secret outputs later through extend without forgetting earlier secrets", () => {
        const r2 = r.extend(["output-secret-xyz"]);
        assert.equal(r2.redact("output-secret-xyz db-password-123"), `${REDACTED} ${REDACTED}`);
        assert.equal(r.redact("output-secret-xyz"), "output-secret-xyz");
    });
});

describe("GitHub webhook signature", () => {
    const body = Buffer.from('{"action":"opened"}');
    const sign = (secret: string) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
    it("accepts a body signed with the shared secret", () => {
        assert.ok(verifyGithubSignature("s3cret", body, sign("s3cret")));
    });
    it("refuses a wrong secret, a missing header and a tampered body", () => {
        assert.ok(!verifyGithubSignature("s3cret", body, sign("other")));
        assert.ok(!verifyGithubSignature("s3cret", body, undefined));
        assert.ok(!verifyGithubSignature("s3cret", Buffer.from('{"action":"closed"}'), sign("s3cret")));
    });
});
