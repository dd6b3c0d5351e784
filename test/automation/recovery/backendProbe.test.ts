// /readyz's backend check against real backends: a throwaway Postgres (the postgres:// backend's
// database), s3rver (an S3-compatible server standing in for S3), a directory; each also down.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { probeBackend } from "../../../automation/recovery/backendProbe";
import { startPostgres, type TestPostgres } from "../../support/postgres";
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from "../../support/s3";

describe("the state backend's readiness check", function () {
    this.timeout(120_000);
    let pg: TestPostgres;
    let s3: TestS3;
    const saved = { ...process.env };
    before(async () => {
        pg = startPostgres();
        s3 = await startS3();
        // The service's own S3 client takes its credentials from the process, as on ECS.
        Object.assign(process.env, S3RVER_CREDENTIALS);
    });
    after(async () => {
        pg?.stop();
        await s3?.stop();
        for (const k of Object.keys(S3RVER_CREDENTIALS)) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
    });

    it("says a postgres:// backend answers, and says it is down, without its password, when it does not", async () => {
        const up = await probeBackend(`${pg.url}?sslmode=disable`);
        assert.equal(up.ok, true, up.detail);
        pg.pause();
        try {
            const url = pg.url.replace("postgres://automation@", "postgres://automation:hunter2-secret@");
            const down = await probeBackend(url);
            assert.equal(down.ok, false);
            assert.match(down.detail ?? "", new RegExp(`^postgres://127\\.0\\.0\\.1:${pg.port}/automation does not answer: `));
            assert.doesNotMatch(down.detail ?? "", /hunter2/);
        } finally {
            pg.resume();
        }
        assert.equal((await probeBackend(pg.url)).ok, true, "and answers again once the database is back");
    });

    it("says an s3:// backend answers, and is down for a bucket that does not exist or a server that is gone", async () => {
        const up = await probeBackend(s3.backendUrl);
        assert.equal(up.ok, true, up.detail);
        const missing = await probeBackend(s3.backendUrl.replace(`s3://${s3.bucket}`, "s3://no-such-bucket"));
        assert.equal(missing.ok, false);
        assert.match(missing.detail ?? "", /^s3:\/\/no-such-bucket\/ at http:\/\/127\.0\.0\.1:\d+ does not answer: NoSuchBucket/);
        const gone = await probeBackend(s3.backendUrl.replace(/endpoint=[^&]+/, "endpoint=127.0.0.1:1"));
        assert.equal(gone.ok, false, gone.detail);
    });

    it("says a file:// backend it cannot write to is down, naming the directory", async () => {
        // A file where the directory should be: nothing can be created under it.
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "probe-")), "not-a-dir");
        fs.writeFileSync(file, "");
        assert.deepEqual(await probeBackend(`file://${file}/state`), { ok: false, detail: `cannot write ${file}/state: ENOTDIR` });
        assert.equal((await probeBackend(`file://${path.dirname(file)}/state`)).ok, true);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });
});
