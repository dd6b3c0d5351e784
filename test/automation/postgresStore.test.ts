// The shared job store on a real Postgres (Debian's, started by scripts/postgres.sh): the same
// contract as the SQLite file, with a second store on the same database standing for a second
// service instance, and the text Postgres itself refuses.
import * as assert from "node:assert/strict";
import { PostgresJobStore } from "../../automation/jobs/postgresStore";
import { startPostgres, type TestPostgres } from "../support/postgres";
import { jobStoreContract } from "./jobStoreContract";

describe("the Postgres job store", function () {
    this.timeout(120_000);
    let pg: TestPostgres;
    before(() => {
        pg = startPostgres();
    });
    after(() => pg?.stop());
    const freshDatabase = () => pg.newDatabase();

    describe("passes the job store contract", () => {
        jobStoreContract(async () => {
            const url = await freshDatabase();
            const opened: PostgresJobStore[] = [];
            const open = async () => {
                const s = await PostgresJobStore.open(url);
                opened.push(s);
                return s;
            };
            let store = await open();
            return {
                store,
                async reopen() {
                    await store.close();
                    return (store = await open());
                },
                another: open,
                async cleanup() {
                    await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
                },
            };
        });
    });

    it("keeps a log line, an event and a name holding the NUL character Postgres refuses, shown as ␀", async () => {
        const store = await PostgresJobStore.open(await freshDatabase());
        try {
            const job = await store.createJob({ stack: "dev", op: "update", triggeredBy: "a\u0000b", triggeredVia: "token", options: { message: "m\u0000" } });
            await store.appendLog(job.id, "before\u0000after");
            await store.appendEvent(job.id, "diagnosticEvent", { message: "x\u0000y" });
            assert.equal((await store.logPage(job.id, 0)).lines[0].text, "before\u2400after");
            assert.deepEqual((await store.eventsAfter(job.id, 0))[0].data, { message: "x\u2400y" });
            assert.equal((await store.getJob(job.id))!.triggeredBy, "a\u2400b");
        } finally {
            await store.close();
        }
    });

    it("creates its schema once when several instances open the same empty database together", async () => {
        const url = await freshDatabase();
        const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresJobStore.open(url)));
        try {
            const job = await stores[0].createJob({ stack: "dev", op: "preview", triggeredBy: "t", triggeredVia: "token" });
            for (const s of stores) assert.equal((await s.getJob(job.id))!.id, job.id);
        } finally {
            await Promise.all(stores.map((s) => s.close()));
        }
    });
});
