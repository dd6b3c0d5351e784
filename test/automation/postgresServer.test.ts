// The throwaway PostgreSQL server the shared-store tests and benchmarks run on (scripts/postgres.sh,
// installed by npm run setup): it starts on a free port, takes a real client's connections and
// statements, and leaves neither a process nor a file behind when stopped.
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { Client } from "pg";
import { startPostgres } from "../support/postgres";

const listening = (port: number) => new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => { socket.destroy(); resolve(true); }).on("error", () => resolve(false));
});

describe("a throwaway PostgreSQL server for tests", function () {
    this.timeout(120_000);

    it("starts on a free port, runs a real client's statements and transactions, and is gone once stopped", async () => {
        const pg = startPostgres();
        try {
            const client = new Client({ connectionString: pg.url });
            await client.connect();
            await client.query("CREATE TABLE jobs (id text PRIMARY KEY, state text NOT NULL)");
            await client.query("BEGIN");
            await client.query("INSERT INTO jobs VALUES ('a', 'queued')");
            await client.query("ROLLBACK");
            await client.query("INSERT INTO jobs VALUES ('b', 'running')");
            assert.deepEqual((await client.query("SELECT id, state FROM jobs")).rows, [{ id: "b", state: "running" }]);
            assert.match((await client.query("SHOW server_version")).rows[0].server_version, /^1[5-9]\./);
            await client.end();
        } finally {
            pg.stop();
        }
        assert.equal(await listening(pg.port), false, "nothing listens on its port any more");
    });

    it("gives each test file a server of its own", async () => {
        const [a, b] = [startPostgres(), startPostgres()];
        try {
            assert.notEqual(a.port, b.port);
        } finally {
            a.stop();
            b.stop();
        }
    });
});
