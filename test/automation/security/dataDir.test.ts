import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { secureDataDir } from "../../../automation/storage/dataDir";
import { startHarness } from "../harness";

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe("the data dir's permissions", function () {
    this.timeout(60_000);

    it("makes a dir others could read 0700 and its files 0600, saying what it changed, and changes nothing the second time", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datadir-"));
        try {
            fs.chmodSync(dir, 0o755);
            fs.writeFileSync(path.join(dir, "tokens.json"), "{}", { mode: 0o644 });
            fs.writeFileSync(path.join(dir, "jobs.sqlite"), "", { mode: 0o664 });
            fs.mkdirSync(path.join(dir, "state"), { mode: 0o755 });
            assert.deepEqual(secureDataDir(dir).sort(), [".", "jobs.sqlite", "state", "tokens.json"]);
            assert.deepEqual([mode(dir), mode(path.join(dir, "tokens.json")), mode(path.join(dir, "jobs.sqlite")), mode(path.join(dir, "state"))], [0o700, 0o600, 0o600, 0o700]);
            assert.deepEqual(secureDataDir(dir), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("leaves the service's data dir 0700 and every file in it 0600 after a start, whoever created them", async () => {
        const h = await startHarness({
            prepare: (copy) => {
                fs.chmodSync(copy.dataDir, 0o755);
                fs.chmodSync(copy.tokensFile, 0o644);
            },
        });
        try {
            assert.equal(mode(h.dataDir), 0o700);
            for (const f of fs.readdirSync(h.dataDir, { withFileTypes: true })) {
                if (f.isFile()) assert.equal(mode(path.join(h.dataDir, f.name)), 0o600, f.name);
            }
        } finally {
            await h.stop();
        }
    });
});
