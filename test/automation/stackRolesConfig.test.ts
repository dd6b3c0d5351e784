// The settings of issue 25's service on AWS: AUTOMATION_STACK_ROLES (each stack's role, and no
// AWS credentials of the service's for jobs) and AUTOMATION_DATABASE_PASSWORD (kept apart from
// its URL, as ECS hands a Secrets Manager secret to a task).
import * as assert from "node:assert/strict";
import { parse as parsePgUrl } from "pg-connection-string";
import { ConfigError, loadConfig } from "../../automation/config";

const ROLE = "arn:aws:iam::123456789012:role/deploy-dev";
const problemsOf = (env: Record<string, string>): string[] => {
    try {
        loadConfig(env);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    assert.fail("the configuration was accepted");
};

describe("configuration of stack roles and the database password", () => {
    describe("AUTOMATION_STACK_ROLES", () => {
        it("is read into each stack's deploy and preview role", () => {
            const c = loadConfig({ AUTOMATION_STACK_ROLES: JSON.stringify({ dev: ROLE, prod: { deploy: ROLE, preview: ROLE.replace("deploy", "preview") } }) });
            assert.deepEqual(c.stackRoles, { dev: { deploy: ROLE }, prod: { deploy: ROLE, preview: ROLE.replace("deploy", "preview") } });
            assert.equal(loadConfig({}).stackRoles, undefined);
        });

        it("refuses a value that is not JSON, a bad ARN, an unknown key or no stack, naming the setting and the stack", () => {
            assert.match(problemsOf({ AUTOMATION_STACK_ROLES: "dev" }).join("\n"), /^AUTOMATION_STACK_ROLES: must be JSON such as/m);
            assert.match(problemsOf({ AUTOMATION_STACK_ROLES: '{"dev": "deploy-dev"}' }).join("\n"), /^AUTOMATION_STACK_ROLES: "dev": must be an IAM role ARN such as arn:aws:iam::123456789012:role\/deploy-dev/m);
            assert.match(problemsOf({ AUTOMATION_STACK_ROLES: `{"dev": {"deploy": "${ROLE}", "admin": "${ROLE}"}}` }).join("\n"), /^AUTOMATION_STACK_ROLES: "dev": unknown key "admin"/m);
            assert.match(problemsOf({ AUTOMATION_STACK_ROLES: "{}" }).join("\n"), /^AUTOMATION_STACK_ROLES: names no stack/m);
        });

        it("keeps every AWS credential variable of the service's from the jobs, and its other AWS settings", () => {
            const service = {
                AWS_ACCESS_KEY_ID: "AKIASERVICEOWNKEY000",
                AWS_SECRET_ACCESS_KEY: "service-secret",
                AWS_SESSION_TOKEN: "service-session",
                AWS_PROFILE: "ops",
                AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/task-role",
                AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
                AWS_ROLE_ARN: ROLE,
                AWS_REGION: "eu-west-1",
            };
            const withRoles = loadConfig({ ...service, AUTOMATION_STACK_ROLES: JSON.stringify({ dev: ROLE }) }).inheritedEnv;
            assert.deepEqual(Object.keys(withRoles).filter((k) => k.startsWith("AWS_")), ["AWS_REGION"]);
            // Without stack roles the jobs run as the service's identity, as before.
            const without = loadConfig(service).inheritedEnv;
            assert.equal(without.AWS_ACCESS_KEY_ID, "AKIASERVICEOWNKEY000");
            assert.equal(without.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "/v2/credentials/task-role");
        });
    });

    describe("AUTOMATION_DATABASE_PASSWORD", () => {
        const URL_WITHOUT = "postgres://automation@db.internal:5432/automation";
        /** With a shared database the passphrase must be set too; not what these tests are about. */
        const PASSPHRASE = { PULUMI_CONFIG_PASSPHRASE: "shared-passphrase" };

        it("goes into AUTOMATION_DATABASE_URL, encoded, so the Postgres driver reads it back whole", () => {
            // What a generated secret may hold: URL delimiters, a percent sign before hex digits, spaces, non-ASCII.
            const password = "p@ss/w:rd%20 #?&é";
            const c = loadConfig({ ...PASSPHRASE, AUTOMATION_DATABASE_URL: URL_WITHOUT, AUTOMATION_DATABASE_PASSWORD: password });
            const parsed = parsePgUrl(c.databaseUrl!);
            assert.equal(parsed.password, password);
            assert.equal(parsed.user, "automation");
            assert.equal(parsed.host, "db.internal");
            assert.equal(parsed.port, "5432");
            assert.equal(parsed.database, "automation");
        });

        it("is refused without AUTOMATION_DATABASE_URL, saying to set the URL, and never echoed", () => {
            const problems = problemsOf({ AUTOMATION_DATABASE_PASSWORD: "hunter2-secret" });
            assert.deepEqual(problems, ["AUTOMATION_DATABASE_PASSWORD: set without AUTOMATION_DATABASE_URL; set the URL it is the password of"]);
        });

        it("is refused when the URL carries a password too, keeping neither in the message", () => {
            const problems = problemsOf({ ...PASSPHRASE, AUTOMATION_DATABASE_URL: "postgres://automation:in-the-url@db.internal/automation", AUTOMATION_DATABASE_PASSWORD: "hunter2-secret" });
            assert.deepEqual(problems, ["AUTOMATION_DATABASE_PASSWORD: AUTOMATION_DATABASE_URL carries a password already; keep one of the two"]);
            assert.equal(problems.join().includes("in-the-url"), false);
        });

        it("is refused blank (a secret of spaces is a mistake), without echoing it", () => {
            const problems = problemsOf({ ...PASSPHRASE, AUTOMATION_DATABASE_URL: URL_WITHOUT, AUTOMATION_DATABASE_PASSWORD: "   " });
            assert.deepEqual(problems, ["AUTOMATION_DATABASE_PASSWORD: must not be blank (unset it when the URL carries the password)"]);
        });
    });
});
