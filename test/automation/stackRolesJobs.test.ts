// Every kind of job and the role it runs as, through the job service with a scripted worker in
// place of the CLI (the real CLI's side is stackRolesService.test.ts) and the real credentials
// endpoint over STS answers from aws-sdk-client-mock.
import * as assert from "node:assert/strict";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { JobService, openGuard } from "../../automation/jobs/service";
import { SqliteJobStore } from "../../automation/jobs/sqliteStore";
import type { Job, JobOptions, Op } from "../../automation/jobs/types";
import { silentLogger } from "../../automation/logger";
import type { WorkerSpec } from "../../automation/pulumi/protocol";
import type { StartWorker, WorkerOutcome } from "../../automation/pulumi/spawn";
import { parseStackRoles, StackCredentials } from "../../automation/pulumi/stackRoles";
import type { Principal } from "../../automation/security/roles";
import type { SourceCheckouts } from "../../automation/sources/checkouts";

const DEPLOY = "arn:aws:iam::123456789012:role/deploy-dev";
const PREVIEW = "arn:aws:iam::123456789012:role/preview-dev";
const source = { repository: "acme/infra", pullRequest: 3, sha: "ab".repeat(20) };
const PR_ENV = { PULUMI_BACKEND_URL: "file:///state", PATH: "/usr/bin" };

describe("each kind of job runs as its stack's read or deploy role", () => {
    let sts: AwsClientStub<STSClient>;
    let credentials: StackCredentials;
    let store: SqliteJobStore;
    let service: JobService;
    const started: { spec: WorkerSpec; env: NodeJS.ProcessEnv; finish(o: WorkerOutcome): void }[] = [];

    before(() => (sts = mockClient(STSClient)));
    after(() => sts.restore());
    beforeEach(async () => {
        sts.reset();
        started.length = 0;
        sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => ({
            Credentials: { AccessKeyId: "ASIAEXAMPLE000000001", SecretAccessKey: `secret-of-${input.RoleArn}`, SessionToken: `token-of-${input.RoleArn}`, Expiration: new Date(Date.now() + 3600_000) },
        }));
        credentials = new StackCredentials({ roles: parseStackRoles(JSON.stringify({ dev: { deploy: DEPLOY, preview: PREVIEW } })), sts: new STSClient({ region: "eu-west-1" }) });
        await credentials.start();
        store = new SqliteJobStore(":memory:");
        const startWorker: StartWorker = (spec, env) => {
            let finish!: (o: WorkerOutcome) => void;
            const done = new Promise<WorkerOutcome>((r) => (finish = r));
            started.push({ spec, env, finish });
            return { pid: -1, done, cancel: () => undefined, kill: () => finish({ kind: "crashed", code: null, signal: "SIGKILL" }) };
        };
        const checkouts: SourceCheckouts = {
            prepare: async (jobId) => ({ root: `/checkouts/${jobId}`, projectDir: `/checkouts/${jobId}/infra`, configDir: `/checkouts/${jobId}.config`, release: async () => undefined }),
        };
        service = new JobService({
            store,
            logger: silentLogger(),
            startWorker,
            guard: openGuard,
            plansDir: "/nowhere/plans",
            checkouts,
            pullRequestWorker: { env: PR_ENV, sandbox: (c) => ({ bwrap: "/usr/bin/bwrap", args: ["--bind", c.root, c.root] }) },
            stacks: () => ["dev", "prod"],
            projectDir: "/nowhere",
            pulumiBin: "/nowhere",
            policyPacks: [],
            workerEnv: { PATH: "/usr/bin" },
            stackCredentials: credentials,
            concurrency: 2,
            queueLimit: 5,
            cancelGraceMs: 50,
        });
    });
    afterEach(() => credentials.close());

    const settled = async (id: string): Promise<Job> => {
        for (let i = 0; i < 400; i++) {
            const j = (await store.getJob(id))!;
            if (!["queued", "running"].includes(j.state)) return j;
            await new Promise((r) => setTimeout(r, 5));
        }
        throw new Error(`job ${id} did not settle`);
    };
    const workerOf = async (jobId: string) => {
        for (let i = 0; i < 400 && !started.some((s) => s.spec.jobId === jobId); i++) await new Promise((r) => setTimeout(r, 5));
        const w = started.find((s) => s.spec.jobId === jobId);
        assert.ok(w, "the worker started");
        return w;
    };
    const run = async (op: Op, options: JobOptions, principal: Principal) => {
        const job = await service.submit({ stack: "dev", op, options, principal });
        const worker = await workerOf(job.id);
        const served = await fetch(worker.spec.env!.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: worker.spec.env!.AWS_CONTAINER_AUTHORIZATION_TOKEN } });
        const body = (await served.json()) as { RoleArn?: string };
        worker.finish({ kind: "succeeded" });
        await settled(job.id);
        const calls = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input).filter((i) => i.RoleSessionName?.includes(job.id));
        return { job, worker, servedRole: body.RoleArn, calls };
    };
    const admin: Principal = { name: "ada-admin", role: "admin", via: "token" };

    for (const [op, options, role] of [
        ["preview", {}, PREVIEW],
        ["preview", { mode: "plan" }, PREVIEW],
        ["refresh", {}, PREVIEW],
        ["refresh", { mode: "apply" }, DEPLOY],
        ["update", {}, DEPLOY],
        ["destroy", {}, DEPLOY],
    ] as const) {
        it(`${op}${options.mode ? ` (mode ${options.mode})` : ""} runs as ${role.split("/").pop()}, in a session named after the job and who asked`, async () => {
            const { job, servedRole, calls } = await run(op, options, admin);
            assert.equal(servedRole, role);
            assert.deepEqual(calls, [{ RoleArn: role, RoleSessionName: `${op}-${job.id}-ada-admin`, SourceIdentity: "ada-admin", DurationSeconds: 3600 }]);
        });
    }

    it("a pull request's preview runs as the read role, in its sandbox's own environment, never the workers'", async () => {
        const { job, worker, servedRole, calls } = await run("preview", { source }, { name: "github:octo", role: "operator", via: "webhook" });
        assert.equal(servedRole, PREVIEW);
        assert.ok(worker.spec.sandbox, "sandboxed");
        assert.equal(worker.env, PR_ENV as NodeJS.ProcessEnv);
        assert.deepEqual(calls, [{ RoleArn: PREVIEW, RoleSessionName: `preview-${job.id}-github-octo`, SourceIdentity: "github-octo", DurationSeconds: 3600 }]);
    });

    it("revokes the job's token once it ends, whatever its outcome", async () => {
        const job = await service.submit({ stack: "dev", op: "update", options: {}, principal: admin });
        const worker = await workerOf(job.id);
        worker.finish({ kind: "failed", name: "Error", message: "boom" });
        assert.equal((await settled(job.id)).state, "failed");
        const res = await fetch(worker.spec.env!.AWS_CONTAINER_CREDENTIALS_FULL_URI, { headers: { authorization: worker.spec.env!.AWS_CONTAINER_AUTHORIZATION_TOKEN } });
        assert.equal(res.status, 403);
    });

    it("starts no worker for a stack without a role and fails its job with STACK_ROLE_MISSING", async () => {
        const job = await service.submit({ stack: "prod", op: "preview", options: {}, principal: admin });
        const done = await settled(job.id);
        assert.equal(done.state, "failed");
        assert.equal(done.error?.code, "STACK_ROLE_MISSING");
        assert.equal(started.length, 0);
        const log = (await store.logPage(job.id, 0, 100)).lines.map((l) => l.text);
        assert.match(log.join("\n"), /^error: Stack "prod" has no AWS role in AUTOMATION_STACK_ROLES/m);
    });
});
