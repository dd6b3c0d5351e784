// Bearer tokens on a shared database (AUTOMATION_DATABASE_URL, a real Postgres from
// scripts/postgres.sh): every instance reads the tokens from the table api_tokens, so a token
// created or revoked on one instance counts on all (on ECS each task has a data dir of its own,
// and a tokens file per task would make revocation a per-task affair). Instances are real
// service processes (what `npm start` runs); the command is `npm run token`'s own main.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { api, prepareWorkspace, sleep, startService, type ServiceProcess, type Workspace } from "../../../bench/lib";
import { main as tokenCommand } from "../../../scripts/token";
import { DatabaseTokenStore } from "../../../automation/security/tokenStore";
import { addToken, hashToken, readTokenFile } from "../../../automation/security/tokens";
import { openStores, type Stores } from "../../../automation/storage/stores";
import { startPostgres, type TestPostgres } from "../../support/postgres";

describe("bearer tokens in the shared database (AUTOMATION_DATABASE_URL)", function () {
    this.timeout(300_000);
    let pg: TestPostgres;

    before(() => {
        pg = startPostgres();
    });
    after(() => pg?.stop());

    describe("the store, on a database migrated by the service's own openStores", () => {
        let stores: Stores;
        let store: DatabaseTokenStore;
        before(async () => {
            const url = await pg.newDatabase();
            stores = await openStores({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")), databaseUrl: url, redact: (v) => v, now: () => new Date(), auditMaxBytes: 1e6, onAuditError: () => undefined });
            store = stores.tokens!;
        });
        after(async () => {
            await stores?.close();
        });

        it("keeps one live token per name: without replace a second create is 409 TOKEN_EXISTS, and of ten creates at once exactly one wins", async () => {
            await store.create("solo", "viewer", { replace: false });
            await assert.rejects(store.create("solo", "admin", { replace: false }), (e: { code?: string; status?: number }) => e.code === "TOKEN_EXISTS" && e.status === 409);
            const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.create("race", "operator", { replace: false })));
            assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results.map((r) => r.status)));
            for (const r of results) if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "TOKEN_EXISTS");
            assert.deepEqual((await store.list()).filter((t) => t.name === "race").length, 1);
        });

        it("rotates a name in one step: after eight rotations at once exactly one token of the name is live, the last one to commit", async () => {
            const first = await store.create("rotor", "operator");
            const rotations = await Promise.all(Array.from({ length: 8 }, () => store.create("rotor", "operator")));
            const live = (await store.list()).filter((t) => t.name === "rotor");
            assert.equal(live.length, 1);
            assert.ok(rotations.every((r) => r.replaced), "each rotation replaced a token");
            assert.ok(rotations.some((r) => hashToken(r.token) === live[0].hash), "the live one is one of the rotations");
            assert.notEqual(live[0].hash, hashToken(first.token), "the first secret is gone");
        });

        it("revokes by marking the row: the token leaves the list, a second revoke finds nothing, and a tokens file that still lists it does not bring it back", async () => {
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")), "tokens.json");
            addToken(file, "leaver", "approver");
            addToken(file, "stayer", "viewer");
            assert.deepEqual((await store.importFrom(readTokenFile(file))).sort(), ["leaver", "stayer"]);
            const gone = await store.revoke("leaver");
            assert.equal(gone?.role, "approver");
            assert.equal(await store.revoke("leaver"), undefined);
            assert.deepEqual(await store.importFrom(readTokenFile(file)), [], "neither is copied again: one is here, the other was revoked here");
            const names = (await store.list()).map((t) => t.name);
            assert.ok(names.includes("stayer") && !names.includes("leaver"), names.join(","));
        });

        it("imports a file's token only where the database has no live token of that name: a name rotated here keeps its new secret", async () => {
            const here = await store.create("rotated-here", "admin");
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")), "tokens.json");
            addToken(file, "rotated-here", "admin");
            assert.deepEqual(await store.importFrom(readTokenFile(file)), []);
            assert.equal((await store.list()).find((t) => t.name === "rotated-here")!.hash, hashToken(here.token));
        });
    });

    describe("two service instances on one database", () => {
        let w: Workspace;
        let databaseUrl: string;
        const running = new Map<string, ServiceProcess>();
        const start = async (name: string) => {
            const s = await startService(w, { AUTOMATION_DATABASE_URL: databaseUrl, AUTOMATION_DATA_DIR: path.join(w.root, `data-${name}`), AUTOMATION_INSTANCE_ID: name });
            running.set(name, s);
            return s;
        };
        const whoami = async (on: string, token: string) => (await api(running.get(on)!.url, "GET", "/v1/whoami", token)).status;
        /** Polls until `on` answers `status` for `token`, answering how long it took; fails after 10 s. */
        const becomes = async (on: string, token: string, status: number): Promise<number> => {
            const began = Date.now();
            for (;;) {
                if ((await whoami(on, token)) === status) return Date.now() - began;
                if (Date.now() - began > 10_000) throw new Error(`instance ${on} still does not answer ${status} after 10 s`);
                await sleep(50);
            }
        };
        const rows = async () => {
            const c = new Client({ connectionString: databaseUrl });
            await c.connect();
            try {
                return (await c.query("SELECT name, role, revoked_at, source FROM api_tokens ORDER BY created_at, name")).rows as { name: string; role: string; revoked_at: string | null; source: string }[];
            } finally {
                await c.end();
            }
        };
        const env = () => ({ AUTOMATION_DATABASE_URL: databaseUrl, AUTOMATION_DATA_DIR: path.join(w.root, "data-a"), PULUMI_CONFIG_PASSPHRASE: "x" });

        before(async () => {
            databaseUrl = await pg.newDatabase();
            w = prepareWorkspace();
            await start("a");
            await start("b");
        });
        after(async () => {
            await Promise.all([...running.values()].map((s) => s.stop()));
        });

        it("copies the tokens file into the database at the first start, once: both instances accept its tokens", async () => {
            const copied = await rows();
            assert.deepEqual(copied.map((r) => [r.name, r.role, r.source, r.revoked_at]).sort(), [
                ["ada-admin", "admin", "imported", null],
                ["bench-approver", "approver", "imported", null],
                ["otto-operator", "operator", "imported", null],
                ["vera-viewer", "viewer", "imported", null],
            ]);
            for (const on of ["a", "b"]) assert.equal(await whoami(on, w.tokens.operator), 200);
            assert.ok(running.get("a")!.lines.some((l) => l.includes("copied 4 token(s) from the tokens file into the shared database")) !== running.get("b")!.lines.some((l) => l.includes("copied 4 token(s)")), "one instance copied them, the other found them there");
        });

        it("a token created over the API of one instance is accepted by the other, and one revoked on the other is refused by the first, within seconds", async () => {
            const created = await api(running.get("a")!.url, "POST", "/v1/tokens", w.tokens.admin, { name: "ci-shared", role: "viewer" });
            assert.equal(created.status, 201, JSON.stringify(created.body));
            assert.equal(await whoami("a", created.body.token), 200, "at once on the instance that made it");
            const seen = await becomes("b", created.body.token, 200);
            const revoked = await api(running.get("b")!.url, "DELETE", "/v1/tokens/ci-shared", w.tokens.admin);
            assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
            assert.equal(await whoami("b", created.body.token), 401, "at once on the instance that revoked it");
            const refused = await becomes("a", created.body.token, 401);
            assert.ok(seen < 3000 && refused < 3000, `seen on b after ${seen} ms, refused on a after ${refused} ms`);
            // Both instances' lists agree, from the database.
            for (const on of ["a", "b"]) {
                const list = await api(running.get(on)!.url, "GET", "/v1/tokens", w.tokens.admin);
                assert.equal(list.body.tokens.some((t: { name: string }) => t.name === "ci-shared"), false);
            }
        });

        it("npm run token with AUTOMATION_DATABASE_URL creates, lists and revokes in the database, never in the file", async () => {
            const before = fs.readFileSync(w.tokensFile, "utf8");
            const made = await tokenCommand(["--name", "deployer", "--role", "operator", "--expires", "30d"], env());
            assert.equal(made.code, 0, made.out);
            const token = made.out.split("\n")[0];
            assert.match(made.out, /only its hash is stored in the database 127\.0\.0\.1:\d+\/test_\d+ \(AUTOMATION_DATABASE_URL\)/);
            for (const on of ["a", "b"]) await becomes(on, token, 200);
            const listed = await tokenCommand(["list", "--json"], env());
            assert.equal(listed.code, 0, listed.out);
            const json = JSON.parse(listed.out);
            assert.match(json.store, /^the database 127\.0\.0\.1:\d+\/test_\d+/);
            assert.equal(json.tokens.find((t: { name: string }) => t.name === "deployer").role, "operator");
            assert.equal(listed.out.includes(token) || listed.out.includes(hashToken(token)), false, "never the secret or its hash");
            const gone = await tokenCommand(["revoke", "deployer"], env());
            assert.equal(gone.code, 0, gone.out);
            for (const on of ["a", "b"]) await becomes(on, token, 401);
            assert.equal(fs.readFileSync(w.tokensFile, "utf8"), before, "the tokens file is untouched");
            const again = await tokenCommand(["revoke", "deployer"], env());
            assert.equal(again.code, 1);
            assert.match(again.out, /no token is named "deployer" in the database/);
        });

        it("does not bring back, on a restart, a token revoked in the database that the tokens file still lists", async () => {
            const revoked = await api(running.get("a")!.url, "DELETE", "/v1/tokens/vera-viewer", w.tokens.admin);
            assert.equal(revoked.status, 200);
            assert.ok(readTokenFile(w.tokensFile).some((t) => t.name === "vera-viewer"), "the file still lists it");
            await running.get("a")!.stop();
            await start("a");
            assert.equal(await whoami("a", w.tokens.viewer), 401);
            assert.equal(await whoami("b", w.tokens.viewer), 401);
            assert.equal((await rows()).filter((r) => r.name === "vera-viewer" && r.revoked_at === null).length, 0);
        });

        it("rides out a database outage on the last list read: a known token is not locked out, an unknown one stays refused, and a revocation after it counts", async () => {
            const created = await api(running.get("a")!.url, "POST", "/v1/tokens", w.tokens.admin, { name: "outage-ci", role: "viewer" });
            assert.equal(created.status, 201);
            await becomes("b", created.body.token, 200);
            pg.pause();
            try {
                await sleep(2500); // more than a refresh: each instance has tried to re-read and failed
                for (const on of ["a", "b"]) {
                    assert.equal(await whoami(on, created.body.token), 200, `${on}: a known token still works`);
                    assert.equal(await whoami(on, "tbk_not-a-token"), 401, `${on}: an unknown one is still refused`);
                }
                // Changing tokens needs the database: refused, naming it, and nothing changed.
                const refused = await api(running.get("a")!.url, "POST", "/v1/tokens", w.tokens.admin, { name: "during-outage", role: "viewer" });
                assert.equal(refused.status, 503, JSON.stringify(refused.body));
                assert.match(refused.body.error.message, /The tokens could not be changed in the database .*nothing was changed/);
            } finally {
                pg.resume();
            }
            assert.equal((await api(running.get("b")!.url, "DELETE", "/v1/tokens/outage-ci", w.tokens.admin)).status, 200);
            await becomes("a", created.body.token, 401);
            const warned = running.get("a")!.lines.filter((l) => l.includes("re-reading the tokens from the database failed"));
            assert.ok(warned.length >= 1 && warned.length <= 2, `warned once per outage, not once a second: ${warned.length}`);
        });
    });
});
