import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SqliteJobStore } from "../../automation/jobs/sqliteStore";
import { jobStoreContract } from "./jobStoreContract";

describe("the SQLite job store", () => {
    jobStoreContract(async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-"));
        const file = path.join(dir, "jobs.sqlite");
        let store = new SqliteJobStore(file);
        return {
            store,
            async reopen() {
                await store.close();
                return (store = new SqliteJobStore(file));
            },
            async cleanup() {
                await store.close();
                fs.rmSync(dir, { recursive: true, force: true });
            },
        };
    });
});
