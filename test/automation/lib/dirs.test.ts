// Directories the service makes for its data dir, stores, plans and a file backend.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeDirs } from "../../../automation/lib/dirs";

describe("making the service's directories", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "make-dirs-"));
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("makes every missing level with the mode asked, and leaves an existing directory be", () => {
        const dir = path.join(root, "a", "b", "c");
        const umask = process.umask(0);
        try {
            makeDirs(dir, 0o700);
            makeDirs(dir, 0o700);
        } finally {
            process.umask(umask);
        }
        for (const d of ["a", "a/b", "a/b/c"]) assert.equal(fs.statSync(path.join(root, d)).mode & 0o777, 0o700, d);
    });

    it("fails, naming the path, where a file stands in the way", () => {
        fs.writeFileSync(path.join(root, "file"), "");
        assert.throws(() => makeDirs(path.join(root, "file")), (e: NodeJS.ErrnoException) => e.code === "EEXIST" && e.message.includes(path.join(root, "file")));
        assert.throws(() => makeDirs(path.join(root, "file", "sub")), (e: NodeJS.ErrnoException) => e.code === "ENOTDIR");
    });

    it("fails at once under /proc and /sys, where Node's recursive mkdir never returns", () => {
        // In a child with a deadline: a spin here would hang the whole test run, not fail it.
        const dirs = ["/proc/no-such-dir/data", "/sys/no-such-dir/data"];
        const lib = path.resolve(__dirname, "../../../automation/lib/dirs");
        const script = `for (const d of ${JSON.stringify(dirs)}) try { require(${JSON.stringify(lib)}).makeDirs(d) } catch (e) { console.log(e.code) }`;
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.resolve(__dirname, "../../.."), timeout: 20_000, encoding: "utf8" });
        assert.equal(r.signal, null, "still making directories after 20 s");
        assert.match(r.stdout, /^E[A-Z]+\nE[A-Z]+\n$/, r.stdout + r.stderr);
    });
});
