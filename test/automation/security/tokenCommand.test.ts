import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultTokensFile, main } from "../../../scripts/token";
import { fileTokens, readTokenFile } from "../../../automation/security/tokens";

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
    it("--expires 30d gives the token an expiry 30 days on, which the service refuses after it with TOKEN_EXPIRED", async () => {
        const file = path.join(dir, "tokens.json");
        const before = Date.now();
        const { code, out } = await main(["--name", "ci-deploy", "--role", "operator", "--expires", "30d", "--file", file]);
        assert.equal(code, 0, out);
        const token = out.split("\n")[0];
        const [stored] = readTokenFile(file);
        const lifetime = Date.parse(stored.expiresAt!) - before;
        assert.ok(lifetime >= 30 * 86_400_000 && lifetime < 30 * 86_400_000 + 60_000, stored.expiresAt);
        assert.match(out, new RegExp(`expires ${stored.expiresAt!.replace(/\.\d{3}Z$/, "Z")}`));
        const verifier = fileTokens(file, () => new Date(Date.parse(stored.expiresAt!) + 1));
        assert.equal(verifier.verify(token), undefined);
        assert.equal(verifier.refusal!(token)?.code, "TOKEN_EXPIRED");
        assert.deepEqual(fileTokens(file).verify(token), { name: "ci-deploy", role: "operator", via: "token" }, "before its expiry it works");
    });
    it("refuses a lifetime it cannot read (exit code 2, naming --expires), writing nothing", async () => {
        const file = path.join(dir, "tokens.json");
        for (const expires of ["30", "1 month", "0d", "3651d", "-1d"]) {
            const { code, out } = await main(["--name", "ci", "--role", "viewer", "--expires", expires, "--file", file]);
            assert.equal(code, 2, expires);
            assert.match(out, /--expires/, expires);
        }
        assert.ok(!fs.existsSync(file));
    });
    it("list shows name, role, created, last used and expiry of each token, and never a secret or a hash", async () => {
        const file = path.join(dir, "tokens.json");
        const secrets = [
            (await main(["--name", "alice", "--role", "approver", "--file", file])).out.split("\n")[0],
            (await main(["--name", "ci-deploy", "--role", "operator", "--expires", "12h", "--file", file])).out.split("\n")[0],
        ];
        const env = { AUTOMATION_TOKENS_FILE: file, AUTOMATION_DATA_DIR: path.join(dir, "data") };
        const { code, out } = await main(["list"], env);
        assert.equal(code, 0, out);
        const lines = out.trimEnd().split("\n");
        assert.deepEqual(lines[0].split(/\s{2,}/), ["NAME", "ROLE", "CREATED", "LAST USED", "EXPIRES"]);
        const rows = Object.fromEntries(lines.slice(1, 3).map((l) => [l.split(/\s+/)[0], l.split(/\s{2,}/)]));
        assert.deepEqual(rows.alice.slice(3), ["unknown", "never"]);
        assert.equal(rows["ci-deploy"][4], readTokenFile(file)[1].expiresAt!.replace(/\.\d{3}Z$/, "Z"));
        assert.match(lines[3], /^# last used unknown: .*data.safety\.sqlite does not exist/, "says why last use is unknown without a service's store");
        for (const secret of [...secrets, ...readTokenFile(file).map((t) => t.hash)]) assert.ok(!out.includes(secret));
        const json = JSON.parse((await main(["list", "--json"], env)).out);
        assert.deepEqual(json.tokens.map((t: Record<string, unknown>) => Object.keys(t).sort()), [["createdAt", "expired", "name", "role"], ["createdAt", "expired", "expiresAt", "name", "role"]]);
    });
    it("revoke NAME removes that token only: the service refuses it from then on; an unknown name is exit code 1", async () => {
        const file = path.join(dir, "tokens.json");
        const alice = (await main(["--name", "alice", "--role", "admin", "--file", file])).out.split("\n")[0];
        const bob = (await main(["--name", "bob", "--role", "viewer", "--file", file])).out.split("\n")[0];
        const verifier = fileTokens(file);
        assert.ok(verifier.verify(alice));
        const { code, out } = await main(["revoke", "alice", "--file", file]);
        assert.deepEqual([code, out], [0, "revoked alice (admin); the service refuses it from its next request, and the jobs it queued do not start\n"]);
        assert.equal(verifier.verify(alice), undefined, "the running verifier re-reads the file");
        assert.equal(verifier.roleOf("alice"), undefined);
        assert.ok(verifier.verify(bob));
        const again = await main(["revoke", "alice", "--file", file]);
        assert.equal(again.code, 1);
        assert.match(again.out, /no token is named "alice".*npm run token -- list/);
        assert.equal((await main(["revoke", "--file", file])).code, 2, "a name is required");
    });
    it("uses the service's file: tokens.json in the data dir, .automation/ of the project by default", () => {
        assert.equal(defaultTokensFile({}, "/p"), path.join("/p", ".automation", "tokens.json"));
        assert.equal(defaultTokensFile({ AUTOMATION_DATA_DIR: "/data" }, "/p"), path.join("/data", "tokens.json"));
        assert.equal(defaultTokensFile({ AUTOMATION_TOKENS_FILE: "/etc/t.json", AUTOMATION_DATA_DIR: "/data" }, "/p"), "/etc/t.json");
    });
});
