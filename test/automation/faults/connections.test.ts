// The shared Postgres out of connections (max_connections reached by other clients): requests
// that need one more are answered 503 with Retry-After, never 500, and the instance carries on
// once connections are free. A real Postgres with a small max_connections, a real process.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { Client } from "pg";
import { api, prepareWorkspace, startService, type ServiceProcess, type Workspace } from "../../../bench/lib";
import { startPostgres, type TestPostgres } from "../../support/postgres";

describe("the shared database out of connections (real Postgres, max_connections 30)", function () {
    this.timeout(180_000);
    let pg: TestPostgres;
    let w: Workspace;
    let s: ServiceProcess;
    const hogs: Client[] = [];
    before(async () => {
        pg = startPostgres({ options: "-c max_connections=30" });
        const databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
        s = await startService(w, { AUTOMATION_DATABASE_URL: databaseUrl, AUTOMATION_DATA_DIR: path.join(w.root, "data-a"), AUTOMATION_INSTANCE_ID: "a" });
    });
    after(async () => {
        await Promise.all(hogs.map((c) => c.end().catch(() => undefined)));
        await s?.stop();
        pg?.stop();
    });

    it("answers requests that need a connection 503 STORE_UNAVAILABLE with Retry-After while none is free, and 200 again after", async () => {
        // Other clients take every connection the server has left.
        for (;;) {
            const c = new Client({ connectionString: pg.url });
            try {
                await c.connect();
                hogs.push(c);
            } catch (e) {
                assert.equal((e as { code?: string }).code, "53300", String(e));
                break;
            }
        }
        // A burst of reads needs more connections than the pool holds open.
        const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${s.url}/v1/stacks`, { headers: { authorization: `Bearer ${w.tokens.viewer}` } }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: await r.text() }))));
        const statuses = answers.map((a) => a.status);
        assert.ok(!statuses.includes(500), `no 500: ${statuses.join(",")}`);
        const refused = answers.filter((a) => a.status === 503);
        assert.ok(refused.length > 0, `some requests met the full server: ${statuses.join(",")}`);
        for (const r of refused) {
            assert.equal(r.retryAfter, "5");
            assert.match(r.body, /"code":"STORE_UNAVAILABLE"/);
        }
        await Promise.all(hogs.splice(0).map((c) => c.end()));
        assert.equal((await api(s.url, "GET", "/v1/stacks", w.tokens.viewer)).status, 200);
        assert.equal(s.child.exitCode, null, "the instance is still running");
    });
});
