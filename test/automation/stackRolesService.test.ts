// Per-stack AWS roles through the whole service: the real Pulumi CLI runs the fixture program,
// which reports the AWS variables it was given and what its credentials endpoint answered. STS
// is the one stand-in (aws-sdk-client-mock), answering each role with keys of its own.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import type { Job } from "../../automation/jobs/types";
import { Harness, startHarness } from "./harness";

const DEV_DEPLOY = "arn:aws:iam::123456789012:role/deploy-dev";
const DEV_PREVIEW = "arn:aws:iam::123456789012:role/preview-dev";
const LOCKED_DEPLOY = "arn:aws:iam::123456789012:role/deploy-locked";
/** The service's own identity, as a host or an ECS task would give it. */
const SERVICE_KEY = "AKIASERVICEOWNKEY000";
const SERVICE_SECRET = "the-service-own-secret-access-key";

const keysOf = (role: string) => ({
    AccessKeyId: role === DEV_DEPLOY ? "ASIADEPLOYDEV0000001" : "ASIAPREVIEWDEV000001",
    SecretAccessKey: `secret-key-of-${role.split("/").pop()}`,
    SessionToken: `session-token-of-${role.split("/").pop()}`,
});

interface Report {
    env: Record<string, string>;
    credentials?: { status: number; body: { AccessKeyId: string; SecretAccessKey: string; Token: string; RoleArn: string } };
}

describe("jobs run with their stack's AWS role, never the service's own credentials (real CLI)", function () {
    this.timeout(180_000);
    let sts: AwsClientStub<STSClient>;
    let h: Harness;
    const reportOf = (stack: string) => path.join(h.dataDir, `${stack}-report.json`);
    const start = async (stack: string, op: string, token: string) => {
        const r = await h.call("POST", `/v1/stacks/${stack}/${op}`, { token, body: {} });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return h.waitFor((r.body as Job).id);
    };
    const logOf = async (job: Job) => ((await h.call("GET", `/v1/jobs/${job.id}/log?limit=1000`, { token: h.tokens.viewer })).body.lines as { text: string }[]).map((l) => l.text).join("\n");
    const jobCalls = (job: Job) => sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input).filter((i) => i.RoleSessionName?.includes(job.id));

    before(async function () {
        this.timeout(60_000);
        // Made here, not when mocha loads the file: another file's mock of the same client may exist then.
        sts = mockClient(STSClient);
        for (const role of [DEV_DEPLOY, DEV_PREVIEW]) {
            sts.on(AssumeRoleCommand, { RoleArn: role }).resolves({ Credentials: { ...keysOf(role), Expiration: new Date(Date.now() + 3600_000) } });
        }
        sts.on(AssumeRoleCommand, { RoleArn: LOCKED_DEPLOY }).rejects(Object.assign(new Error("User: arn:aws:sts::123456789012:assumed-role/automation-task/i-1 is not authorized to perform: sts:AssumeRole on resource: " + LOCKED_DEPLOY), { name: "AccessDenied" }));
        h = await startHarness({
            env: {
                AUTOMATION_STACK_ROLES: JSON.stringify({ dev: { deploy: DEV_DEPLOY, preview: DEV_PREVIEW }, locked: LOCKED_DEPLOY }),
                AWS_ACCESS_KEY_ID: SERVICE_KEY,
                AWS_SECRET_ACCESS_KEY: SERVICE_SECRET,
                AWS_SESSION_TOKEN: "the-service-own-session-token",
                AWS_PROFILE: "service-profile",
                AWS_REGION: "eu-west-1",
            },
            prepare: (copy) => {
                for (const stack of ["dev", "locked", "unmapped"]) {
                    fs.writeFileSync(path.join(copy.projectDir, `Pulumi.${stack}.yaml`), `config:\n  fixture:count: "1"\n  fixture:reportEnv: ${JSON.stringify(path.join(copy.dataDir, `${stack}-report.json`))}\n`);
                }
            },
        });
    });
    after(async () => {
        await h?.stop();
        sts?.restore();
    });

    it("a preview's program gets the stack's preview role through its endpoint, and none of the service's AWS variables", async () => {
        const job = await start("dev", "previews", h.tokens.operator);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        const report = JSON.parse(fs.readFileSync(reportOf("dev"), "utf8")) as Report;
        for (const v of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) assert.equal(report.env[v], undefined, `${v} reached the program`);
        assert.equal(JSON.stringify(report).includes(SERVICE_SECRET), false);
        assert.equal(report.env.AWS_REGION, "eu-west-1", "settings other than credentials still reach the program");
        assert.match(report.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, /^http:\/\/127\.0\.0\.1:\d+\/credentials$/);
        assert.equal(report.env.AWS_EC2_METADATA_DISABLED, "true");
        assert.equal(report.credentials?.status, 200);
        assert.deepEqual(
            { AccessKeyId: report.credentials.body.AccessKeyId, SecretAccessKey: report.credentials.body.SecretAccessKey, Token: report.credentials.body.Token, RoleArn: report.credentials.body.RoleArn },
            { ...((({ SessionToken, ...k }) => ({ ...k, Token: SessionToken }))(keysOf(DEV_PREVIEW))), RoleArn: DEV_PREVIEW },
        );
        assert.deepEqual(jobCalls(job), [{ RoleArn: DEV_PREVIEW, RoleSessionName: `preview-${job.id}-otto-operator`, SourceIdentity: "otto-operator", DurationSeconds: 3600 }]);
    });

    it("an update's program gets the deploy role; once the job is over its token opens nothing", async () => {
        const job = await start("dev", "updates", h.tokens.admin);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        const report = JSON.parse(fs.readFileSync(reportOf("dev"), "utf8")) as Report;
        assert.equal(report.credentials?.body.RoleArn, DEV_DEPLOY);
        assert.equal(report.credentials?.body.AccessKeyId, keysOf(DEV_DEPLOY).AccessKeyId);
        assert.equal(report.env.AWS_ACCESS_KEY_ID, undefined);
        assert.deepEqual(jobCalls(job), [{ RoleArn: DEV_DEPLOY, RoleSessionName: `update-${job.id}-ada-admin`, SourceIdentity: "ada-admin", DurationSeconds: 3600 }]);
        const after = await fetch(report.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN } });
        assert.equal(after.status, 403);
    });

    it("keeps the endpoint's token and the role's keys out of the job's log when the program prints them", async () => {
        const job = await start("dev", "previews", h.tokens.operator);
        assert.equal(job.state, "succeeded", JSON.stringify(job.error));
        const report = JSON.parse(fs.readFileSync(reportOf("dev"), "utf8")) as Report;
        const log = await logOf(job);
        assert.match(log, /endpoint token \[secret\]; secret key \[secret\]/);
        assert.equal(log.includes(report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN), false);
        assert.equal(log.includes(keysOf(DEV_PREVIEW).SecretAccessKey), false);
    });

    it("fails a job whose role STS refuses, naming the stack and the role, before any program runs", async () => {
        const job = await start("locked", "updates", h.tokens.admin);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "STACK_ROLE_UNAVAILABLE");
        assert.match(job.error!.message, new RegExp(`^Assuming stack "locked"'s deploy role ${LOCKED_DEPLOY.replace(/[/.]/g, "\\$&")} failed \\(AccessDenied: .*\\); nothing ran\\.`));
        assert.doesNotMatch(job.error!.message, /\n\s+at /, "no stack trace");
        assert.match(await logOf(job), /^error: Assuming stack "locked"'s deploy role/m);
        assert.equal(fs.existsSync(reportOf("locked")), false, "the program did not run");
    });

    it("fails a job on a stack without a role, saying to add one, and never runs it with the service's credentials", async () => {
        const job = await start("unmapped", "previews", h.tokens.operator);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "STACK_ROLE_MISSING");
        assert.match(job.error!.message, /^Stack "unmapped" has no AWS role in AUTOMATION_STACK_ROLES/);
        assert.equal(fs.existsSync(reportOf("unmapped")), false, "the program did not run");
        assert.deepEqual(jobCalls(job), []);
    });
});
