// The embedded store as a year of operations leaves it: emptied, truncated, overwritten with
// garbage, and a data dir on a disk that fills up. Real processes, real SQLite files, a real
// (small) tmpfs as the disk, the real CLI.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Job } from "../../../automation/jobs/types";
import { call, prepareFixture, until, type FixtureCopy } from "../harness";
import { startServiceProcess, type ServiceProcess } from "../processes";

/** Starts the service on `f`; the refusal's exit code and output when it does not start. */
async function tryStart(f: FixtureCopy): Promise<ServiceProcess | { code: number; output: string }> {
    return startServiceProcess(f).catch((e: { code: number; output: string }) => ({ code: e.code, output: e.output }));
}
const stopped = async (p: ServiceProcess) => {
    p.child.kill("SIGTERM");
    await p.exited;
};

describe("a damaged embedded store (real processes and SQLite files)", function () {
    this.timeout(240_000);
    let f: FixtureCopy;
    let jobsFile: string;
    let pristine: Buffer;
    before(async () => {
        // A data dir with a history: one preview.
        f = prepareFixture();
        const p = await startServiceProcess(f);
        const r = await call(p.url, "POST", "/v1/stacks/dev/previews", { token: f.tokens.operator, body: {} });
        await until(async () => (["queued", "running"].includes((await call(p.url, "GET", `/v1/jobs/${r.body.id}`, { token: f.tokens.viewer })).body.state) ? undefined : true), "the preview");
        await stopped(p);
        jobsFile = path.join(f.dataDir, "jobs.sqlite");
        pristine = fs.readFileSync(jobsFile);
    });
    afterEach(() => {
        fs.writeFileSync(jobsFile, pristine);
        for (const x of ["-wal", "-shm"]) fs.rmSync(jobsFile + x, { force: true });
    });

    const refusal = async (damage: () => void, expected: RegExp) => {
        damage();
        const r = await tryStart(f);
        if ("child" in r) {
            await stopped(r);
            assert.fail("the service started on a damaged store");
        }
        assert.equal(r.code, 1);
        assert.match(r.output, expected);
        assert.match(r.output, /restore it from your backup of the data dir/);
    };

    it("refuses to start on an emptied job store when the data dir shows it was used, naming the file", () =>
        refusal(() => fs.truncateSync(jobsFile, 0), new RegExp(`${jobsFile.replace(/[/.]/g, "\\$&")} is empty, but this data dir was used before \\(its audit log has entries\\)`)));
    it("refuses to start on a truncated job store, naming the file", () =>
        refusal(() => fs.truncateSync(jobsFile, Math.floor(pristine.length / 2) + 100), new RegExp(`${jobsFile.replace(/[/.]/g, "\\$&")} (is damaged|cannot be read as a database)`)));
    it("refuses to start on a job store with pages of garbage, naming the file", () =>
        refusal(() => {
            const fd = fs.openSync(jobsFile, "r+");
            fs.writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, 4096);
            fs.closeSync(fd);
        }, new RegExp(`${jobsFile.replace(/[/.]/g, "\\$&")} (is damaged|cannot be read as a database)`)));
    it("starts on the intact store, with its history", async () => {
        const p = await startServiceProcess(f);
        try {
            assert.equal(((await call(p.url, "GET", "/v1/jobs", { token: f.tokens.viewer })).body.jobs as Job[]).length, 1);
        } finally {
            await stopped(p);
        }
    });
});

describe("a data dir whose disk fills up (a real 48 MiB tmpfs)", function () {
    this.timeout(240_000);
    let f: FixtureCopy;
    let disk: string;
    let p: ServiceProcess;
    const filler = () => path.join(disk, "filler");
    before(async () => {
        disk = fs.mkdtempSync(path.join(os.tmpdir(), "full-disk-"));
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=48M", "tmpfs", disk]);
        f = prepareFixture();
        const dataDir = path.join(disk, "data");
        fs.cpSync(f.dataDir, dataDir, { recursive: true });
        f = { ...f, dataDir, tokensFile: path.join(dataDir, "tokens.json") };
        p = await startServiceProcess(f);
    });
    after(async () => {
        if (p) await stopped(p);
        execFileSync("umount", [disk]);
        fs.rmSync(disk, { recursive: true, force: true });
    });

    it("says not ready and refuses new jobs with 503 and Retry-After while the disk is full, storing and running nothing", async () => {
        const first = await call(p.url, "POST", "/v1/stacks/dev/previews", { token: f.tokens.operator, body: {} });
        await until(async () => (["queued", "running"].includes((await call(p.url, "GET", `/v1/jobs/${first.body.id}`, { token: f.tokens.viewer })).body.state) ? undefined : true), "the preview");
        // Fill the disk to the last byte.
        const fd = fs.openSync(filler(), "w");
        const mb = Buffer.alloc(1024 * 1024, 1);
        try {
            for (;;) fs.writeSync(fd, mb);
        } catch (e) {
            assert.equal((e as NodeJS.ErrnoException).code, "ENOSPC");
        }
        try {
            for (;;) fs.writeSync(fd, Buffer.alloc(512, 1));
        } catch {
            /* full to the last block */
        }
        fs.closeSync(fd);
        assert.equal((await fetch(`${p.url}/readyz`)).status, 503);
        const refused = await call(p.url, "POST", "/v1/stacks/dev/updates", { token: f.tokens.operator, body: {} });
        assert.deepEqual([refused.status, refused.body.error?.code, refused.headers.get("retry-after")], [503, "STORE_UNAVAILABLE", "5"], JSON.stringify(refused.body));
        assert.equal(((await call(p.url, "GET", "/v1/jobs?stack=dev", { token: f.tokens.viewer })).body.jobs as Job[]).length, 1, "no job was stored");
    });

    it("takes work again once space is freed: ready, and the next update runs and is recorded", async () => {
        fs.rmSync(filler());
        assert.equal((await fetch(`${p.url}/readyz`)).status, 200);
        const up = await call(p.url, "POST", "/v1/stacks/dev/updates", { token: f.tokens.operator, body: {} });
        assert.equal(up.status, 202, JSON.stringify(up.body));
        const done = await until(async () => {
            const j = (await call(p.url, "GET", `/v1/jobs/${up.body.id}`, { token: f.tokens.viewer })).body as Job;
            return ["queued", "running"].includes(j.state) ? undefined : j;
        }, "the update", 120_000);
        assert.equal(done.state, "succeeded", JSON.stringify(done.error));
    });
});
