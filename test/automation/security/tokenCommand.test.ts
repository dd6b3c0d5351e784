import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultTokensFile, main } from "../../../scripts/token";
import { fileTokens } from "../../../automation/security/tokens";

describe("npm run token", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "token-cmd-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("prints a new token once and stores a hash the service accepts for that name and role", async () => {
        const file = path.join(dir, "tokens.json");
        const { code, out } = await main(["--name", "alice", "--role", "approver"], { AUTOMATION_TOKENS_FILE: file });
        assert.equal(code, 0);
        const token = out.split("\n")[0];
        assert.match(token, /^tbk_/);
        assert.deepEqual(fileTokens(file).verify(token), { name: "alice", role: "approver", via: "token" });
    });
    it("fails with exit code 2 on an unknown role, listing the roles, and writes nothing", async () => {
        const file = path.join(dir, "tokens.json");
        const { code, out } = await main(["--name", "bob", "--role", "root", "--file", file]);
        assert.equal(code, 2);
        assert.match(out, /viewer, operator, approver, admin/);
        assert.ok(!fs.existsSync(file));
    });
    it("refuses, with exit code 2 and nothing written, a name the audit could not tell apart: spaces, a colon, or one shaped like a credential", async () => {
        const file = path.join(dir, "tokens.json");
        for (const name of ["Bearer release-manager", "schedule:drift-check", "github:octo", "ghp_" + "a".repeat(36), "_hidden", "ann\nadmin"]) {
            const { code, out } = await main(["--name", name, "--role", "admin", "--file", file]);
            assert.equal(code, 2, name);
            assert.match(out, /^`--name` (must be 1 to 64 letters|looks like a credential)/, name);
        }
        assert.ok(!fs.existsSync(file));
    });
    it("fails with exit code 2 without --name", async () => {
        assert.equal((await main(["--role", "viewer", "--file", path.join(dir, "t.json")])).code, 2);
    });
    it("uses the service's file: tokens.json in the data dir, .automation/ of the project by default", () => {
        assert.equal(defaultTokensFile({}, "/p"), path.join("/p", ".automation", "tokens.json"));
        assert.equal(defaultTokensFile({ AUTOMATION_DATA_DIR: "/data" }, "/p"), path.join("/data", "tokens.json"));
        assert.equal(defaultTokensFile({ AUTOMATION_TOKENS_FILE: "/etc/t.json", AUTOMATION_DATA_DIR: "/data" }, "/p"), "/etc/t.json");
    });
});
