// Token last use on a shared database (AUTOMATION_DATABASE_URL, a real Postgres from
// scripts/postgres.sh): the service records it in the table token_use at most once a minute,
// the API and `npm run token -- list` read it back from there, and nothing goes to SQLite.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Client } from "pg";
import { main as tokenCommand } from "../../../scripts/token";
import { startPostgres, type TestPostgres } from "../../support/postgres";
import { startHarness, until, type Harness } from "../harness";

describe("token last use on Postgres (AUTOMATION_DATABASE_URL)", function () {
    this.timeout(240_000);
    let pg: TestPostgres;
    let h: Harness;
    let offset = 0;
    const now = () => new Date(Date.now() + offset);
    const rows = async (): Promise<{ name: string; last_used_at: string }[]> => {
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        try {
            return (await c.query("SELECT name, last_used_at FROM token_use ORDER BY name")).rows;
        } finally {
            await c.end();
        }
    };
    const lastUsed = async (name: string) => {
        const r = await h.call("GET", "/v1/tokens", { token: h.tokens.admin });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return (r.body.tokens as { name: string; lastUsedAt: string | null }[]).find((t) => t.name === name)!.lastUsedAt;
    };

    before(async () => {
        pg = startPostgres();
        h = await startHarness({ env: { AUTOMATION_DATABASE_URL: pg.url }, overrides: { now } });
    });
    after(async () => {
        await h?.stop();
        pg?.stop();
    });

    it("records a use in the database once a minute at most, and the API lists it", async () => {
        const ci = await h.call("POST", "/v1/tokens", { token: h.tokens.admin, body: { name: "pg-ci", role: "viewer", expiresIn: "30d" } });
        assert.equal(ci.status, 201, JSON.stringify(ci.body));
        assert.equal(await lastUsed("pg-ci"), null);
        for (let i = 0; i < 5; i++) assert.equal((await h.call("GET", "/v1/jobs", { token: ci.body.token })).status, 200);
        const first = await until(async () => (await lastUsed("pg-ci")) ?? undefined, "the use recorded", 10_000);
        const row = (await rows()).find((r) => r.name === "pg-ci")!;
        assert.equal(new Date(row.last_used_at).toISOString(), first, "the list shows the database's row");
        offset += 20_000;
        await h.call("GET", "/v1/jobs", { token: ci.body.token });
        await h.call("GET", "/v1/jobs", { token: h.tokens.admin });
        assert.equal(await lastUsed("pg-ci"), first, "a use 20 s later is not written");
        offset += 45_000;
        await h.call("GET", "/v1/jobs", { token: ci.body.token });
        const second = await until(async () => {
            const at = await lastUsed("pg-ci");
            return at !== first ? at : undefined;
        }, "the use 65 s later recorded", 10_000);
        assert.ok(Date.parse(second!) - Date.parse(first) >= 65_000, `${first} → ${second}`);
    });

    it("npm run token -- list reads the last use from the database of AUTOMATION_DATABASE_URL", async () => {
        const out = await tokenCommand(["list", "--json"], { AUTOMATION_DATABASE_URL: pg.url, AUTOMATION_DATA_DIR: h.dataDir, AUTOMATION_PROJECT_DIR: h.projectDir });
        assert.equal(out.code, 0, out.out);
        const listed = JSON.parse(out.out) as { tokens: { name: string; lastUsedAt: string | null }[]; lastUsedUnknown?: string };
        assert.equal(listed.lastUsedUnknown, undefined);
        assert.equal(listed.tokens.find((t) => t.name === "pg-ci")!.lastUsedAt, await lastUsed("pg-ci"));
        assert.equal(listed.tokens.find((t) => t.name === "vera-viewer")!.lastUsedAt, null, "a token never used");
    });

    it("judges by a change made in the table behind its back within seconds, one that keeps the token's hash too: a role lowered, an expiry reached, a revoke", async () => {
        const op = await h.addToken("pg-op", "operator");
        const sql = async (text: string) => {
            const c = new Client({ connectionString: pg.url });
            await c.connect();
            try {
                await c.query(text, ["pg-op"]);
            } finally {
                await c.end();
            }
        };
        const whoami = async () => {
            const r = await h.call("GET", "/v1/whoami", { token: op });
            return r.status === 200 ? `200 ${r.body.role}` : `${r.status} ${r.body.error?.code}`;
        };
        assert.equal(await whoami(), "200 operator");
        // Unchanged re-reads (one a second) keep judging it so.
        await new Promise((r) => setTimeout(r, 2500));
        assert.equal(await whoami(), "200 operator");
        await sql("UPDATE api_tokens SET role = 'viewer' WHERE name = $1 AND revoked_at IS NULL");
        await until(async () => ((await whoami()) === "200 viewer" ? true : undefined), "the lowered role", 10_000);
        await sql("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE name = $1 AND revoked_at IS NULL");
        await until(async () => ((await whoami()) === "401 TOKEN_EXPIRED" ? true : undefined), "the expiry", 10_000);
        await sql("UPDATE api_tokens SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE name = $1 AND revoked_at IS NULL");
        await until(async () => ((await whoami()) === "401 UNAUTHENTICATED" ? true : undefined), "the revoke", 10_000);
    });

    it("keeps no SQLite file in the data dir for it", () => {
        assert.deepEqual(fs.readdirSync(h.dataDir).filter((f) => f.endsWith(".sqlite")), []);
    });
});
