// Per-stack AWS roles (pulumi/stackRoles.ts): the decisions as pure functions, and the loopback
// credentials endpoint against STS answers from aws-sdk-client-mock, read by the AWS SDK's own
// container-credentials provider as a job's CLI and program read it.
import * as assert from "node:assert/strict";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { isAppError } from "../../automation/errors";
import { accessOf, AWS_CREDENTIAL_VARIABLES, jobSessionName, parseStackRoles, roleFor, sessionName, sourceIdentity, StackCredentials } from "../../automation/pulumi/stackRoles";

const DEV_DEPLOY = "arn:aws:iam::123456789012:role/deploy-dev";
const DEV_PREVIEW = "arn:aws:iam::123456789012:role/preview-dev";
const CI_DEPLOY = "arn:aws:iam::210987654321:role/deploy-ci";
const roles = parseStackRoles(JSON.stringify({ dev: { deploy: DEV_DEPLOY, preview: DEV_PREVIEW }, ci: CI_DEPLOY }));
/** What STS allows in a RoleSessionName and a SourceIdentity. */
const STS_NAME = /^[\w+=,.@-]{2,64}$/;
const JOB_ID = "6f0c1f8e-2b4e-4a53-9d52-0d5f6c1b9a77";

const refusal = (f: () => unknown): Error => {
    try {
        f();
    } catch (e) {
        return e as Error;
    }
    assert.fail("expected a refusal");
};

describe("per-stack AWS roles", () => {
    describe("AUTOMATION_STACK_ROLES as written", () => {
        it("takes a role ARN per stack, or a deploy and a preview role", () => {
            assert.deepEqual(roles, { dev: { deploy: DEV_DEPLOY, preview: DEV_PREVIEW }, ci: { deploy: CI_DEPLOY } });
            assert.deepEqual(parseStackRoles(`{"gov": "arn:aws-us-gov:iam::123456789012:role/path/to/deploy"}`), { gov: { deploy: "arn:aws-us-gov:iam::123456789012:role/path/to/deploy" } });
        });

        it("refuses what is not JSON, showing the expected shape", () => {
            assert.match(refusal(() => parseStackRoles("dev=arn:aws:iam::123456789012:role/x")).message, /^must be JSON such as \{"dev": "arn:aws:iam::/);
        });

        it("refuses a value that is not a role ARN, naming the stack", () => {
            assert.match(refusal(() => parseStackRoles(`{"prod": "arn:aws:iam::123456789012:user/alice"}`)).message, /^"prod": must be an IAM role ARN such as arn:aws:iam::123456789012:role\/deploy-dev$/);
            assert.match(refusal(() => parseStackRoles(`{"prod": {"deploy": "${DEV_DEPLOY}", "preview": "role/preview"}}`)).message, /^"prod.preview": must be an IAM role ARN/);
            assert.match(refusal(() => parseStackRoles(`{"prod": {"preview": "${DEV_PREVIEW}"}}`)).message, /^"prod": names no "deploy" role/);
            assert.match(refusal(() => parseStackRoles(`{"prod": 42}`)).message, /^"prod": must be a role ARN, or \{"deploy"/);
            assert.match(refusal(() => parseStackRoles(`["${DEV_DEPLOY}"]`)).message, /^must be a JSON object such as/);
        });

        it("refuses an unknown key beside deploy and preview, a name that is no stack name, and an empty map", () => {
            assert.match(refusal(() => parseStackRoles(`{"prod": {"deploy": "${DEV_DEPLOY}", "read": "${DEV_PREVIEW}"}}`)).message, /^"prod": unknown key "read"; a stack's roles are "deploy" \(required\) and "preview" \(optional\)$/);
            assert.match(refusal(() => parseStackRoles(`{"bad stack": "${DEV_DEPLOY}"}`)).message, /a stack name must be 1-100 letters/);
            assert.match(refusal(() => parseStackRoles("{}")).message, /^names no stack; give each stack the service runs its role, or unset it$/);
        });
    });

    describe("which role a job runs as", () => {
        it("reads with previews and drift checks, writes with updates, applied refreshes and destroys", () => {
            assert.equal(accessOf("preview", {}), "read");
            assert.equal(accessOf("preview", { mode: "plan" }), "read");
            assert.equal(accessOf("refresh", {}), "read");
            assert.equal(accessOf("refresh", { mode: "apply" }), "write");
            assert.equal(accessOf("update", {}), "write");
            assert.equal(accessOf("destroy", {}), "write");
        });

        it("gives reads the preview role when the stack has one, else its deploy role; writes always the deploy role", () => {
            assert.equal(roleFor(roles, "dev", "read"), DEV_PREVIEW);
            assert.equal(roleFor(roles, "dev", "write"), DEV_DEPLOY);
            assert.equal(roleFor(roles, "ci", "read"), CI_DEPLOY);
            assert.equal(roleFor(roles, "ci", "write"), CI_DEPLOY);
        });

        it("refuses a stack without a role rather than falling back to the service's rights, saying where to add it", () => {
            const e = refusal(() => roleFor(roles, "prod", "read"));
            assert.ok(isAppError(e));
            assert.equal(e.code, "STACK_ROLE_MISSING");
            assert.equal(e.status, 403);
            assert.match(e.message, /^Stack "prod" has no AWS role in AUTOMATION_STACK_ROLES.*Add "prod": "<the stack's deploy role ARN>" to AUTOMATION_STACK_ROLES/);
        });
    });

    describe("session names CloudTrail shows", () => {
        it("name the operation, the whole job id and who asked, within STS's 64 characters and alphabet", () => {
            assert.equal(jobSessionName({ id: JOB_ID, op: "update", triggeredBy: "otto-operator" }), `update-${JOB_ID}-otto-operator`);
            const long = jobSessionName({ id: JOB_ID, op: "destroy", triggeredBy: "sso:someone.with.a.very.long.name@example.org" });
            assert.ok(long.startsWith(`destroy-${JOB_ID}-sso-someone`), long);
            assert.equal(long.length, 64);
            assert.match(long, STS_NAME);
            assert.equal(jobSessionName({ id: JOB_ID, op: "refresh", triggeredBy: "schedule:nightly drift" }), `refresh-${JOB_ID}-automation-nightly`);
        });

        it("replace what STS refuses and pad what is too short", () => {
            assert.equal(sessionName("a b/c:d"), "a-b-c-d");
            assert.equal(sessionName("x"), "x-");
            assert.equal(sessionName("y".repeat(80)).length, 64);
            assert.equal(sourceIdentity("dependency:network"), "automation-network");
            assert.equal(sourceIdentity("sso:alice@example.org"), "sso-alice@example.org");
        });
    });

    describe("the credentials endpoint", () => {
        // Made in before(), not when mocha loads the file: another file's mock of the same client may exist then.
        let sts: AwsClientStub<STSClient>;
        const keys = (role: string, n = 1) => ({
            AccessKeyId: `ASIA${role.endsWith("preview-dev") ? "PREVIEW" : "DEPLOY0"}${"0".repeat(8)}${n}`,
            SecretAccessKey: `secret-of-${role.split("/").pop()}-${n}`,
            SessionToken: `session-token-of-${role.split("/").pop()}-${n}`,
        });
        let clock = Date.parse("2026-12-06T12:00:00Z");
        let credentials: StackCredentials;
        const answer = (role: string, n = 1, hours = 1) => ({ Credentials: { ...keys(role, n), Expiration: new Date(clock + hours * 3600_000) } });

        before(() => (sts = mockClient(STSClient)));
        beforeEach(async () => {
            sts.reset();
            clock = Date.parse("2026-12-06T12:00:00Z");
            sts.on(AssumeRoleCommand, { RoleArn: DEV_DEPLOY }).resolves(answer(DEV_DEPLOY));
            sts.on(AssumeRoleCommand, { RoleArn: DEV_PREVIEW }).resolves(answer(DEV_PREVIEW));
            credentials = new StackCredentials({ roles, sts: new STSClient({ region: "eu-west-1" }), now: () => clock });
            await credentials.start();
        });
        afterEach(() => credentials.close());
        after(() => sts.restore());

        it("assumes the stack's preview role for a read, with the job's session name, who asked, and one hour", async () => {
            const issued = await credentials.issue({ stack: "dev", access: "read", session: `preview-${JOB_ID}-otto-operator`, requestedBy: "otto-operator" });
            const calls = sts.commandCalls(AssumeRoleCommand);
            assert.equal(calls.length, 1);
            assert.deepEqual(calls[0].args[0].input, { RoleArn: DEV_PREVIEW, RoleSessionName: `preview-${JOB_ID}-otto-operator`, SourceIdentity: "otto-operator", DurationSeconds: 3600 });
            issued.revoke();
        });

        it("assumes the deploy role for a write", async () => {
            await credentials.issue({ stack: "dev", access: "write", session: `update-${JOB_ID}-ada-admin`, requestedBy: "ada-admin" });
            assert.deepEqual(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input), [{ RoleArn: DEV_DEPLOY, RoleSessionName: `update-${JOB_ID}-ada-admin`, SourceIdentity: "ada-admin", DurationSeconds: 3600 }]);
        });

        it("hands the job an endpoint and a token, no keys, and shuts the SDK's other sources", async () => {
            const issued = await credentials.issue({ stack: "dev", access: "write", session: "s1", requestedBy: "ada-admin" });
            assert.deepEqual(Object.keys(issued.env).sort(), ["AWS_CONFIG_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_DISABLED", "AWS_SHARED_CREDENTIALS_FILE"]);
            assert.match(issued.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, /^http:\/\/127\.0\.0\.1:\d+\/credentials$/);
            assert.deepEqual(issued.secrets, [issued.env.AWS_CONTAINER_AUTHORIZATION_TOKEN]);
            assert.equal(JSON.stringify(issued.env).includes(keys(DEV_DEPLOY).SecretAccessKey), false);
            // Every variable through which the service's own identity could reach a job is among those stripped.
            for (const v of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"]) assert.ok(AWS_CREDENTIAL_VARIABLES.includes(v), v);
        });

        it("serves the stack role's session to the AWS SDK's container-credentials provider, and nothing once revoked", async () => {
            const issued = await credentials.issue({ stack: "dev", access: "read", session: "s1", requestedBy: "otto-operator" });
            const read = () => fromHttp({ awsContainerCredentialsFullUri: issued.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, awsContainerAuthorizationToken: issued.env.AWS_CONTAINER_AUTHORIZATION_TOKEN, maxRetries: 0 })();
            const got = await read();
            assert.equal(got.accessKeyId, keys(DEV_PREVIEW).AccessKeyId);
            assert.equal(got.secretAccessKey, keys(DEV_PREVIEW).SecretAccessKey);
            assert.equal(got.sessionToken, keys(DEV_PREVIEW).SessionToken);
            issued.revoke();
            await assert.rejects(read());
            const res = await fetch(issued.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: issued.env.AWS_CONTAINER_AUTHORIZATION_TOKEN } });
            assert.equal(res.status, 403);
        });

        it("answers 403 to a request without the job's token or with another's, and 404 off its one path", async () => {
            const issued = await credentials.issue({ stack: "dev", access: "read", session: "s1", requestedBy: "otto-operator" });
            const url = issued.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
            assert.equal((await fetch(url)).status, 403);
            assert.equal((await fetch(url, { headers: { authorization: "guess" } })).status, 403);
            assert.equal((await fetch(url.replace("/credentials", "/latest/meta-data/"), { headers: { authorization: issued.env.AWS_CONTAINER_AUTHORIZATION_TOKEN } })).status, 404);
        });

        it("gives two jobs of two stacks' roles two sessions: each token opens only its own", async () => {
            sts.on(AssumeRoleCommand, { RoleArn: CI_DEPLOY }).resolves(answer(CI_DEPLOY));
            const dev = await credentials.issue({ stack: "dev", access: "write", session: "s-dev", requestedBy: "a" });
            const ci = await credentials.issue({ stack: "ci", access: "write", session: "s-ci", requestedBy: "a" });
            const body = async (env: Record<string, string>) => (await (await fetch(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: env.AWS_CONTAINER_AUTHORIZATION_TOKEN } })).json()) as { RoleArn: string; SecretAccessKey: string };
            assert.equal((await body(dev.env)).RoleArn, DEV_DEPLOY);
            assert.equal((await body(ci.env)).RoleArn, CI_DEPLOY);
            assert.equal((await body(ci.env)).SecretAccessKey, keys(CI_DEPLOY).SecretAccessKey);
        });

        it("assumes the role again when the session has less than 15 minutes left, telling the job's redactor the new keys", async () => {
            const learned: string[][] = [];
            const issued = await credentials.issue({ stack: "dev", access: "write", session: "s1", requestedBy: "a", onSecrets: (v) => learned.push(v) });
            const get = async () => (await (await fetch(issued.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: issued.env.AWS_CONTAINER_AUTHORIZATION_TOKEN } })).json()) as { SecretAccessKey: string };
            clock += 40 * 60_000;
            assert.equal((await get()).SecretAccessKey, keys(DEV_DEPLOY, 1).SecretAccessKey);
            assert.equal(sts.commandCalls(AssumeRoleCommand).length, 1);
            sts.on(AssumeRoleCommand, { RoleArn: DEV_DEPLOY }).resolves(answer(DEV_DEPLOY, 2));
            clock += 6 * 60_000;
            assert.equal((await get()).SecretAccessKey, keys(DEV_DEPLOY, 2).SecretAccessKey);
            assert.equal(sts.commandCalls(AssumeRoleCommand).length, 2);
            assert.deepEqual(learned, [
                [keys(DEV_DEPLOY, 1).SecretAccessKey, keys(DEV_DEPLOY, 1).SessionToken],
                [keys(DEV_DEPLOY, 2).SecretAccessKey, keys(DEV_DEPLOY, 2).SessionToken],
            ]);
        });

        it("fails the issue with an error naming the stack, its role and what to check when STS refuses, with no stack trace", async () => {
            const denied = Object.assign(new Error("User: arn:aws:sts::123456789012:assumed-role/automation-task/x is not authorized to perform: sts:AssumeRole"), { name: "AccessDenied" });
            sts.on(AssumeRoleCommand, { RoleArn: DEV_DEPLOY }).rejects(denied);
            const e = await credentials.issue({ stack: "dev", access: "write", session: "s1", requestedBy: "a" }).then(() => assert.fail("issued"), (err: unknown) => err);
            assert.ok(isAppError(e));
            assert.equal(e.code, "STACK_ROLE_UNAVAILABLE");
            assert.equal(
                e.message,
                `Assuming stack "dev"'s deploy role ${DEV_DEPLOY} failed (AccessDenied: ${denied.message}); nothing ran. Check that the role trusts the service's task role and that the task role may assume it (sts:AssumeRole, sts:SetSourceIdentity).`,
            );
            assert.deepEqual(e.details, { stack: "dev", role: DEV_DEPLOY });
        });

        it("refuses a stack without a role before asking STS anything", async () => {
            const e = await credentials.issue({ stack: "prod", access: "read", session: "s1", requestedBy: "a" }).then(() => assert.fail("issued"), (err: unknown) => err);
            assert.ok(isAppError(e));
            assert.equal(e.code, "STACK_ROLE_MISSING");
            assert.equal(sts.commandCalls(AssumeRoleCommand).length, 0);
        });

        it("gives the service's own commands on a stack that stack's role too, one session per stack and access, named for the service", async () => {
            const a = await credentials.serviceEnv("dev", "read");
            const b = await credentials.serviceEnv("dev", "read");
            await credentials.serviceEnv("dev", "write");
            assert.equal(a.AWS_CONTAINER_AUTHORIZATION_TOKEN, b.AWS_CONTAINER_AUTHORIZATION_TOKEN);
            assert.deepEqual(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input), [
                { RoleArn: DEV_PREVIEW, RoleSessionName: "automation-service-dev", SourceIdentity: "automation-service", DurationSeconds: 3600 },
                { RoleArn: DEV_DEPLOY, RoleSessionName: "automation-service-dev", SourceIdentity: "automation-service", DurationSeconds: 3600 },
            ]);
            for (const input of sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)) {
                assert.match(input.RoleSessionName!, STS_NAME);
                assert.match(input.SourceIdentity!, STS_NAME);
            }
        });
    });
});
