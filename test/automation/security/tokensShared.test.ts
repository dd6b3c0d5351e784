// Bearer tokens on a shared database (AUTOMATION_DATABASE_URL, a real Postgres from
// scripts/postgres.sh): every instance reads the tokens from the table api_tokens, so a token
// created or revoked on one instance counts on all (on ECS each task has a data dir of its own,
// and a tokens file per task would make revocation a per-task affair). Instances are real
// service processes (what `npm start` runs); the command is `npm run token`'s own main.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
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

        it("revokes by marking the row: the token leaves the list, a second revoke finds nothing", async () => {
            await store.create("leaver", "approver");
            const gone = await store.revoke("leaver");
            assert.equal(gone?.role, "approver");
            assert.equal(await store.revoke("leaver"), undefined);
            assert.equal((await store.list()).some((t) => t.name === "leaver"), false);
        });

        it("never answers 'not found' to a revoke that meets a rotation of the name: 30 rounds, each revoke finds the token it raced", async () => {
            for (let round = 0; round < 30; round++) {
                await store.create("raced", "operator");
                const [, revoked] = await Promise.all([store.create("raced", "operator"), store.revoke("raced")]);
                assert.notEqual(revoked, undefined, `round ${round}: the revoke found no token while one was live`);
                await store.revoke("raced");
            }
        });
    });

    it("npm run token names the database it cannot use and what to do, exit code 1, never a stack trace: no such database, nobody listening, no tokens table", async () => {
        const at = (pathname: string, port = pg.port) => {
            const u = new URL(pg.url);
            u.pathname = pathname;
            u.port = String(port);
            return { AUTOMATION_DATABASE_URL: u.toString(), PULUMI_CONFIG_PASSPHRASE: "x", AUTOMATION_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")) };
        };
        const missing = await tokenCommand(["list"], at("/no_such_database"));
        assert.deepEqual([missing.code, /does not exist .*fix the database name in AUTOMATION_DATABASE_URL/.test(missing.out)], [1, true], missing.out);
        const closed = await tokenCommand(["revoke", "anyone"], at("/automation", 1));
        assert.deepEqual([closed.code, /cannot be reached .*nothing was changed/.test(closed.out)], [1, true], closed.out);
        const unmigrated = await tokenCommand(["--name", "first", "--role", "admin"], at(new URL(await pg.newDatabase()).pathname));
        assert.deepEqual([unmigrated.code, /has no table api_tokens .*start the automation service \(this version\) on it once/.test(unmigrated.out)], [1, true], unmigrated.out);
    });

    describe("seeding a new database from the tokens file", () => {
        let stores: Stores;
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")), "tokens.json");
        before(async () => {
            const url = await pg.newDatabase();
            stores = await openStores({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "tokens-")), databaseUrl: url, redact: (v) => v, now: () => new Date(), auditMaxBytes: 1e6, onAuditError: () => undefined });
        });
        after(async () => stores?.close());

        it("copies an empty table's tokens from the file once, leaving out names the service refuses (an sso: name, a space), and names them", async () => {
            addToken(file, "seed-admin", "admin");
            addToken(file, "seed-viewer", "viewer");
            // Written as an older service or a hand-edited file could hold them: the CLI refuses such names.
            const text = JSON.parse(fs.readFileSync(file, "utf8"));
            text.tokens.push({ name: "sso:ada@example.com", role: "admin", hash: "a".repeat(64) }, { name: "ada admin", role: "admin", hash: "b".repeat(64) });
            fs.writeFileSync(file, JSON.stringify(text));
            const seeded = await stores.tokens!.seedFrom(readTokenFile(file));
            assert.deepEqual(seeded.imported.sort(), ["seed-admin", "seed-viewer"]);
            assert.deepEqual(seeded.refused.map((r) => r.name), ["sso:ada@example.com", "ada admin"]);
            assert.deepEqual((await stores.tokens!.list()).map((t) => t.name).sort(), ["seed-admin", "seed-viewer"]);
        });

        it("reads the file into the table never again: a token added to the file later stays out and is named as ignored, and one revoked in the table stays revoked", async () => {
            await stores.tokens!.revoke("seed-viewer");
            addToken(file, "late-comer", "admin");
            const again = await stores.tokens!.seedFrom(readTokenFile(file));
            assert.deepEqual(again.imported, []);
            assert.deepEqual(again.ignored, ["late-comer"], "the revoked one is held (revoked), not ignored");
            assert.deepEqual((await stores.tokens!.list()).map((t) => t.name), ["seed-admin"]);
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
            assert.ok(running.get("a")!.lines.some((l) => l.includes("copied 4 token(s) from the tokens file")) !== running.get("b")!.lines.some((l) => l.includes("copied 4 token(s)")), "one instance copied them, the other found them there");
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
            // A file would do nothing while the database holds the tokens, or go live by surprise.
            const filed = await tokenCommand(["revoke", "otto-operator", "--file", w.tokensFile], env());
            assert.equal(filed.code, 2);
            assert.match(filed.out, /AUTOMATION_DATABASE_URL is set, so the service's tokens are in that database .* drop --file/);
            assert.equal(await whoami("a", w.tokens.operator), 200, "nothing was revoked");
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

    describe("an instance whose database connections go silent (a TCP proxy that stops passing bytes, as a dropped NAT entry or a failover does)", () => {
        let w: Workspace;
        let databaseUrl: string;
        let direct: ServiceProcess;
        let cutOff: ServiceProcess | undefined;
        const proxy = silentProxy();

        before(async () => {
            databaseUrl = await pg.newDatabase();
            w = prepareWorkspace();
            direct = await startService(w, { AUTOMATION_DATABASE_URL: databaseUrl, AUTOMATION_DATA_DIR: path.join(w.root, "data-direct"), AUTOMATION_INSTANCE_ID: "direct" });
            const via = new URL(databaseUrl);
            via.port = String(await proxy.listen(pg.port));
            cutOff = await startService(w, { AUTOMATION_DATABASE_URL: via.toString(), AUTOMATION_DATA_DIR: path.join(w.root, "data-cut"), AUTOMATION_INSTANCE_ID: "cut" });
        });
        after(async () => {
            proxy.close();
            await Promise.all([direct?.stop(), cutOff?.stop()]);
        });
        const status = async (s: ServiceProcess, token: string) => (await api(s.url, "GET", "/v1/whoami", token)).status;
        const until = async (what: string, check: () => Promise<boolean>, limitMs: number): Promise<number> => {
            const began = Date.now();
            while (!(await check())) {
                if (Date.now() - began > limitMs) throw new Error(`${what}: not within ${limitMs / 1000} s`);
                await sleep(100);
            }
            return Date.now() - began;
        };

        it("refuses a token revoked elsewhere within seconds though its open connections never answer again", async () => {
            const made = await api(direct.url, "POST", "/v1/tokens", w.tokens.admin, { name: "cut-ci", role: "operator" });
            assert.equal(made.status, 201);
            await until("the cut-off instance accepts the new token", async () => (await status(cutOff!, made.body.token)) === 200, 5000);
            assert.ok(proxy.silenceOpen() > 0, "connections were open through the proxy");
            assert.equal((await api(direct.url, "DELETE", "/v1/tokens/cut-ci", w.tokens.admin)).status, 200);
            const tookMs = await until("the cut-off instance refuses the revoked token", async () => (await status(cutOff!, made.body.token)) !== 200, 10_000);
            assert.equal(await status(cutOff!, made.body.token), 401);
            assert.ok(tookMs < 6000, `refused after ${tookMs} ms`);
        });

        it("past 15 s without a read it answers tokens 503 STORE_UNAVAILABLE and /readyz 503, rather than judge them on an old list; then recovers", async () => {
            proxy.silenceAll();
            await sleep(16_500);
            const r = await api(cutOff!.url, "GET", "/v1/whoami", w.tokens.operator);
            assert.equal(r.status, 503, JSON.stringify(r.body));
            assert.equal(r.body.error.code, "STORE_UNAVAILABLE");
            assert.match(r.body.error.message, /The tokens could not be re-read from the database for \d+ s/);
            const ready = await api(cutOff!.url, "GET", "/readyz");
            assert.equal(ready.status, 503);
            assert.equal(ready.body.checks.tokens.ok, false, JSON.stringify(ready.body.checks.tokens));
            assert.equal(await status(direct, w.tokens.operator), 200, "the instance that reaches the database is unaffected");
            proxy.restore();
            await until("the cut-off instance judges tokens again", async () => (await status(cutOff!, w.tokens.operator)) === 200, 15_000);
            assert.ok(cutOff!.lines.some((l) => l.includes("re-reading the tokens from the database failed")));
            assert.ok(cutOff!.lines.some((l) => l.includes("the tokens are read from the database again")));
        });

        it("keeps judging tokens when the database answers slowly (1.1 s a reply, so a new connection plus a read take 2.2 s) and its connections were reset: reconnecting is not held to a read's 2 s", async () => {
            proxy.slow(1100);
            try {
                proxy.resetOpen();
                const until = Date.now() + 18_000;
                const answers = new Map<number, number>();
                while (Date.now() < until) {
                    const s = await status(cutOff!, w.tokens.operator);
                    answers.set(s, (answers.get(s) ?? 0) + 1);
                    await sleep(500);
                }
                assert.deepEqual([...answers.keys()], [200], JSON.stringify(Object.fromEntries(answers)));
                const ready = await api(cutOff!.url, "GET", "/readyz");
                assert.equal(ready.body.checks.tokens.ok, true, JSON.stringify(ready.body.checks.tokens));
            } finally {
                proxy.slow(0);
            }
        });

        it("stops on SIGTERM within seconds while its database connections are silent", async () => {
            proxy.silenceAll();
            const began = Date.now();
            await cutOff!.stop();
            cutOff = undefined;
            // 5 s for the database's clients together, 5 s for the stores: under a platform's 30 s.
            assert.ok(Date.now() - began < 12_000, `stopped after ${Date.now() - began} ms`);
            proxy.restore();
        });
    });
});

/**
 * A TCP proxy to Postgres that can go silent: `silenceOpen` stops passing bytes on the open
 * connections (they stay open, as a connection whose NAT entry was dropped does); `silenceAll`
 * also holds new ones unanswered; `restore` resets the silent ones and passes again; `slow`
 * delays every answer.
 */
function silentProxy() {
    let target = 0;
    let silent = false;
    let delayMs = 0;
    const open = new Set<[net.Socket, net.Socket]>();
    const held: net.Socket[] = [];
    const server = net.createServer((client) => {
        client.on("error", () => undefined);
        if (silent) {
            held.push(client.pause());
            return;
        }
        const up = net.connect(target, "127.0.0.1");
        up.on("error", () => undefined);
        const pair: [net.Socket, net.Socket] = [client, up];
        open.add(pair);
        client.pipe(up);
        // The database's answers, each after `delayMs` (in order: equal delays fire in order).
        const answer = (chunk: Buffer) => {
            if (open.has(pair) && !client.destroyed) client.write(chunk);
        };
        up.on("data", (chunk: Buffer) => (delayMs ? setTimeout(() => answer(chunk), delayMs) : answer(chunk)));
    });
    const silence = () => {
        for (const pair of open) {
            const [a, b] = pair;
            a.unpipe(b);
            b.unpipe(a);
            held.push(a.pause(), b.pause());
        }
        const n = open.size;
        open.clear();
        return n;
    };
    return {
        listen: (port: number) => {
            target = port;
            return new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port)));
        },
        silenceOpen: silence,
        /** Every answer of the database from now on arrives `ms` late: a slow link, not a dead one. */
        slow(ms: number) {
            delayMs = ms;
        },
        /** Resets the open connections, as a network blip does; new ones are made through the proxy. */
        resetOpen() {
            for (const [a, b] of open) a.destroy(), b.destroy();
            open.clear();
        },
        silenceAll() {
            silent = true;
            silence();
        },
        restore() {
            silent = false;
            for (const s of held.splice(0)) s.destroy();
        },
        close() {
            this.restore();
            for (const [a, b] of open) a.destroy(), b.destroy();
            server.close();
        },
    };
}
