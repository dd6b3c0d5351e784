import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ConfigError, REPO_ROOT, loadConfig } from "../../automation/config";

describe("service configuration", () => {
    it("defaults to the repository, a data dir inside it, a file backend there and a concurrency of 2", () => {
        const c = loadConfig({});
        assert.equal(c.projectDir, REPO_ROOT);
        assert.equal(c.dataDir, path.join(REPO_ROOT, ".automation"));
        assert.equal(c.backendUrl, `file://${path.join(REPO_ROOT, ".automation", "state")}`);
        assert.equal(c.concurrency, 2);
        assert.equal(c.port, 8080);
        assert.equal(c.passphrase, undefined);
    });

    describe("policy packs", () => {
        const fixtureProject = path.resolve(__dirname, "../fixture/project");

        it("runs the project's own policy/ pack when AUTOMATION_POLICY_PACKS is unset", () => {
            assert.deepEqual(loadConfig({}).policyPacks, [path.join(REPO_ROOT, "policy")]);
        });

        it("runs no pack when AUTOMATION_POLICY_PACKS is set but empty", () => {
            assert.deepEqual(loadConfig({ AUTOMATION_POLICY_PACKS: "" }).policyPacks, []);
            assert.deepEqual(loadConfig({ AUTOMATION_POLICY_PACKS: " , " }).policyPacks, []);
        });

        it("runs no pack for a project without a policy/PulumiPolicy.yaml", () => {
            assert.deepEqual(loadConfig({ AUTOMATION_PROJECT_DIR: fixtureProject }).policyPacks, []);
        });

        it("runs only the listed packs when AUTOMATION_POLICY_PACKS names some, not the project's own as well", () => {
            assert.deepEqual(loadConfig({ AUTOMATION_POLICY_PACKS: "/packs/a" }).policyPacks, ["/packs/a"]);
        });
    });

    it("passes PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE through and splits policy packs", () => {
        const c = loadConfig({ PULUMI_BACKEND_URL: "s3://state-bucket", PULUMI_CONFIG_PASSPHRASE: "pw", AUTOMATION_POLICY_PACKS: "/a, /b ,", AUTOMATION_DATA_DIR: "/data" });
        assert.equal(c.backendUrl, "s3://state-bucket");
        assert.equal(c.passphrase, "pw");
        assert.deepEqual(c.policyPacks, ["/a", "/b"]);
        assert.equal(c.tokensFile, "/data/tokens.json");
    });

    it("reports every bad value at once, naming the variable and what it got", () => {
        assert.throws(
            () => loadConfig({ PORT: "eighty", AUTOMATION_CONCURRENCY: "0", PULUMI_BACKEND_URL: "ftp://x", LOG_LEVEL: "loud" }),
            (e: ConfigError) => {
                assert.equal(e.problems.length, 4);
                assert.match(e.message, /PORT: must be a whole number \(got "eighty"\)/);
                assert.match(e.message, /AUTOMATION_CONCURRENCY: must be at least 1/);
                assert.match(e.message, /PULUMI_BACKEND_URL: must be a backend URL/);
                assert.match(e.message, /LOG_LEVEL/);
                return true;
            },
        );
    });

    it("treats an empty variable as unset rather than as a bad value", () => {
        assert.throws(() => loadConfig({ PULUMI_CONFIG_PASSPHRASE: "", PORT: "70000" }), (e: ConfigError) => e.problems.length === 1 && /PORT/.test(e.message));
    });
});
