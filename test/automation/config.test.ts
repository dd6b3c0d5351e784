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

    describe("an s3:// state backend (its locks are read by the service too)", () => {
        const refused = (url: string, message: RegExp) =>
            assert.throws(
                () => loadConfig({ PULUMI_BACKEND_URL: url }),
                (e: ConfigError) => {
                    assert.equal(e.problems.length, 1, e.message);
                    assert.match(e.problems[0], /^PULUMI_BACKEND_URL: /);
                    assert.match(e.problems[0], message);
                    return true;
                },
            );
        it("takes what the Pulumi CLI takes: a path, a prefix, an S3-compatible endpoint with or without its scheme", () => {
            for (const url of ["s3://state", "s3://state/team-a?region=eu-west-1", "s3://state?endpoint=minio.internal:9000&disableSSL=true&s3ForcePathStyle=true&prefix=pulumi/", "s3://state?role=arn:aws:iam::123456789012:role/state&kmskeyid=alias/x&ssetype=aws:kms"]) {
                assert.equal(loadConfig({ PULUMI_BACKEND_URL: url }).backendUrl, url);
            }
        });
        it("refuses a query parameter the CLI refuses, naming it and listing the ones it takes", () => {
            refused("s3://state?region=eu-west-1&endpiont=http://minio:9000", /unknown query parameter `endpiont` \(the Pulumi CLI refuses it too\); the CLI's S3 backend takes region, endpoint, /);
        });
        it("refuses a boolean the CLI would not parse, naming the parameter", () => {
            refused("s3://state?s3ForcePathStyle=yes", /`s3ForcePathStyle` must be true or false \(got "yes"\)/);
        });
        it("refuses `key=`, which makes the bucket one object that cannot hold a state backend", () => {
            refused("s3://state?key=state.json", /`key` makes the bucket a single object.*use `prefix=` or a path/);
        });
        it("refuses a port on the bucket and says the server's address goes in endpoint=", () => {
            refused("s3://127.0.0.1:9000/state", /the bucket name cannot have a port \(got "127\.0\.0\.1:9000"\); an S3-compatible server's address goes in `endpoint=`/);
        });
        it("refuses a role that is not an ARN, a missing bucket and an endpoint that is no address", () => {
            refused("s3://state?role=deployer", /`role` must be a role ARN \(arn:aws:iam::<account>:role\/<name>; got "deployer"\)/);
            refused("s3://?region=eu-west-1", /the bucket is missing; write s3:\/\/<bucket>/);
            refused("s3://state?endpoint=http://[::1", /`endpoint` must be a server address such as http:\/\/127\.0\.0\.1:9000/);
        });
        it("refuses credentials in the URL without echoing them", () => {
            assert.throws(
                () => loadConfig({ PULUMI_BACKEND_URL: "s3://AKIAEXAMPLE:wJalrXUtnFEMI@state" }),
                (e: ConfigError) => {
                    assert.match(e.message, /an s3:\/\/ URL carries no credentials; give them as AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY, a profile or a role/);
                    assert.doesNotMatch(e.message, /wJalrXUtnFEMI|AKIAEXAMPLE/);
                    return true;
                },
            );
        });
    });

    it("treats an empty variable as unset rather than as a bad value", () => {
        assert.throws(() => loadConfig({ PULUMI_CONFIG_PASSPHRASE: "", PORT: "70000" }), (e: ConfigError) => e.problems.length === 1 && /PORT/.test(e.message));
    });
});
