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

    describe("several instances on one database", () => {
        const db = { AUTOMATION_DATABASE_URL: "postgres://automation@db.internal:5432/automation" };
        it("is off without AUTOMATION_DATABASE_URL, and takes a postgres:// state backend", () => {
            assert.equal(loadConfig({}).databaseUrl, undefined);
            assert.equal(loadConfig({ PULUMI_BACKEND_URL: "postgres://state@db/pulumi" }).backendUrl, "postgres://state@db/pulumi");
        });
        it("reads the database, the instance's name and the heartbeat, with 5 s and 30 s by default", () => {
            const c = loadConfig({ ...db, PULUMI_CONFIG_PASSPHRASE: "p", AUTOMATION_INSTANCE_ID: "api-1" });
            assert.equal(c.databaseUrl, db.AUTOMATION_DATABASE_URL);
            assert.deepEqual(c.instances, { id: "api-1", heartbeatMs: 5000, silenceMs: 30_000 });
        });
        it("refuses a database without one passphrase for every instance, naming it", () => {
            assert.throws(() => loadConfig(db), /PULUMI_CONFIG_PASSPHRASE: with AUTOMATION_DATABASE_URL every instance must use the same passphrase/);
        });
        it("refuses a silence shorter than three heartbeats, which would take a late instance for a dead one", () => {
            assert.throws(
                () => loadConfig({ ...db, PULUMI_CONFIG_PASSPHRASE: "p", AUTOMATION_HEARTBEAT_MS: "5000", AUTOMATION_INSTANCE_SILENCE_MS: "10000" }),
                /AUTOMATION_INSTANCE_SILENCE_MS: must be at least 3 × AUTOMATION_HEARTBEAT_MS \(15000\)/,
            );
        });
        it("refuses an instance name that is not a plain name", () => {
            assert.throws(() => loadConfig({ ...db, PULUMI_CONFIG_PASSPHRASE: "p", AUTOMATION_INSTANCE_ID: "a b/../c" }), /AUTOMATION_INSTANCE_ID: must be a name/);
        });
    });

    it("treats an empty variable as unset rather than as a bad value", () => {
        assert.throws(() => loadConfig({ PULUMI_CONFIG_PASSPHRASE: "", PORT: "70000" }), (e: ConfigError) => e.problems.length === 1 && /PORT/.test(e.message));
    });
});
