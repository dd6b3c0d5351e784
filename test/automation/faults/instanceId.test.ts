// Two processes under one AUTOMATION_INSTANCE_ID (a supervisor restarting an instance while the
// old process still runs, or is only paused): the second is refused while the first is live,
// and takes the id over once it has been silent, when the old one, resumed, stops. Real
// processes, a real Postgres.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { api, descendants, prepareWorkspace, sleep, startService, waitJob, type ServiceProcess, type Workspace } from "../../../bench/lib";
import { startPostgres, type TestPostgres } from "../../support/postgres";

describe("two processes under one instance id (real processes, Postgres)", function () {
    this.timeout(300_000);
    let pg: TestPostgres;
    let w: Workspace;
    let databaseUrl: string;
    const started: ServiceProcess[] = [];
    const start = async (dir: string) => {
        const s = await startService(w, {
            AUTOMATION_DATABASE_URL: databaseUrl,
            AUTOMATION_DATA_DIR: path.join(w.root, dir),
            AUTOMATION_INSTANCE_ID: "x",
            AUTOMATION_HEARTBEAT_MS: "250",
            AUTOMATION_INSTANCE_SILENCE_MS: "3000",
        });
        started.push(s);
        return s;
    };
    before(async () => {
        pg = startPostgres();
        databaseUrl = await pg.newDatabase();
        w = prepareWorkspace();
    });
    after(async () => {
        for (const s of started) {
            for (const p of [s.pid, ...descendants(s.pid).map((d) => d.pid)]) {
                try {
                    process.kill(p, "SIGCONT");
                } catch {
                    /* gone */
                }
            }
        }
        await Promise.all(started.map((s) => s.stop()));
        pg?.stop();
    });

    let first: ServiceProcess;
    it("refuses a second start under the id of a live instance, naming its pid", async () => {
        first = await start("data-1");
        const refused = await start("data-2").then(
            () => "started",
            (e: Error) => e.message,
        );
        assert.match(refused, new RegExp(`AUTOMATION_INSTANCE_ID "x" is in use by a live instance \\(pid ${first.pid} on \\S+, last heartbeat`));
    });

    it("lets a new process take the id of one silent past the silence, and the old one, resumed, stops instead of beating on", async () => {
        const tree = [first.pid, ...descendants(first.pid).map((d) => d.pid)];
        for (const p of tree) process.kill(p, "SIGSTOP");
        await sleep(4000);
        const second = await start("data-3");
        for (const p of tree) process.kill(p, "SIGCONT");
        assert.equal(await Promise.race([first.exited, sleep(30_000).then(() => "still running")]), 0, "the displaced process stopped");
        assert.ok(first.lines.some((l) => l.includes("this instance's id now belongs to another live process")), first.lines.slice(-5).join("\\n"));
        const job = (await api(second.url, "POST", "/v1/stacks/dev/previews", w.tokens.operator, {})).body;
        assert.equal((await waitJob(second.url, w.tokens.viewer, job.id, 120_000)).state, "succeeded");
    });
});
