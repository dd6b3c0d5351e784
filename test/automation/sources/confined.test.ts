// Reading a pull request's files from the service's side: every way a checkout can point a
// read elsewhere, made with real symlinks, hard links and a FIFO on the real file system.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { confinedPath, MAX_CONFINED_BYTES, readConfined, writeNoFollow } from "../../../automation/sources/confined";

describe("files of a checkout read without following anything out of it", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "confined-"));
    const worktree = path.join(root, "worktree");
    const secret = path.join(root, "secret.txt");
    before(() => {
        fs.mkdirSync(path.join(worktree, "infra", "deep"), { recursive: true });
        fs.writeFileSync(secret, "the service's secret");
        fs.writeFileSync(path.join(worktree, "infra", "Pulumi.yaml"), "name: infra\n");
        fs.symlinkSync(secret, path.join(worktree, "infra", "Pulumi.dev.yaml"));
        fs.symlinkSync("Pulumi.yaml", path.join(worktree, "infra", "Pulumi.prod.yaml"));
        fs.symlinkSync(root, path.join(worktree, "up"));
        fs.linkSync(secret, path.join(worktree, "infra", "hardlink.yaml"));
        execFileSync("mkfifo", [path.join(worktree, "infra", "fifo.yaml")]);
        fs.writeFileSync(path.join(worktree, "infra", "big.yaml"), Buffer.alloc(MAX_CONFINED_BYTES + 1, 0x61));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));
    const code = (fn: () => unknown) => {
        try {
            fn();
            return "read";
        } catch (e) {
            return `${(e as { code?: string }).code}: ${(e as Error).message}`;
        }
    };

    it("reads a regular file inside the checkout, and says undefined for one that is not there", () => {
        assert.equal(readConfined(worktree, "infra/Pulumi.yaml"), "name: infra\n");
        assert.equal(readConfined(worktree, "infra/Pulumi.staging.yaml"), undefined);
        assert.equal(readConfined(worktree, "nowhere/Pulumi.yaml"), undefined);
    });
    it("refuses a file that is a symlink, pointing out of the checkout or within it", () => {
        assert.match(code(() => readConfined(worktree, "infra/Pulumi.dev.yaml")), /^UNSAFE_CHECKOUT: The pull request's "infra\/Pulumi.dev.yaml" is a symbolic link/);
        assert.match(code(() => readConfined(worktree, "infra/Pulumi.prod.yaml")), /is a symbolic link/);
    });
    it("refuses a path through a symlinked directory", () => {
        assert.match(code(() => readConfined(worktree, "up/secret.txt")), /"up" is a symbolic link/);
        assert.match(code(() => confinedPath(worktree, "up", "dir")), /"up" is a symbolic link/);
    });
    it("refuses '..' out of the checkout and an absolute path", () => {
        assert.match(code(() => readConfined(worktree, "../secret.txt")), /points outside the checkout/);
        assert.match(code(() => readConfined(worktree, "infra/../../secret.txt")), /points outside the checkout/);
        assert.match(code(() => readConfined(worktree, secret)), /points outside the checkout/);
    });
    it("refuses a hard link, a FIFO (which would block the service) and a file over the size bound", () => {
        assert.match(code(() => readConfined(worktree, "infra/hardlink.yaml")), /is a hard link/);
        assert.match(code(() => readConfined(worktree, "infra/fifo.yaml")), /is not a regular file/);
        assert.match(code(() => readConfined(worktree, "infra/big.yaml")), /is larger than/);
    });
    it("writes a generated file without following a symlink at its name", () => {
        const dir = path.join(root, "generated");
        fs.mkdirSync(dir);
        fs.symlinkSync(secret, path.join(dir, "Pulumi.yaml"));
        assert.match(code(() => writeNoFollow(path.join(dir, "Pulumi.yaml"), "overwritten")), /^ELOOP/);
        assert.equal(fs.readFileSync(secret, "utf8"), "the service's secret");
        writeNoFollow(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        assert.equal(fs.statSync(path.join(dir, "Pulumi.dev.yaml")).mode & 0o777, 0o600);
    });
});
