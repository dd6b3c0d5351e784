import * as assert from "node:assert/strict";
import { DescribeTasksCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import * as fs from "node:fs";
import * as path from "node:path";
import { Evaluated, evaluateProgram, policyDoc } from "./harness";
import { TAGS } from "./programs/migrations";
import { RUNNER_SOURCE, migrationsInput } from "../../infra/migrations";
import { migrationRunnerPolicy } from "../../infra/lib/appIam";
import type { EcsLike, EcsTask, RunMigrationsDeps, RunTaskRequest } from "../../infra/functions/runMigrations/index.mjs";
import { buildRunTaskRequest, createHandler, interpretStoppedTask, runMigrations, startedTaskArn } from "../../infra/functions/runMigrations/index.mjs";

const CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster";
const TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-dev-migrate:7";
const TASK = "arn:aws:ecs:us-east-1:123456789012:task/todobackend-dev-cluster/abc";
const STRATEGY = [{ capacityProvider: "todobackend-dev-cp", weight: 1, base: 0 }];

/** A fake ECS whose DescribeTasks walks through the given statuses; it records every call. */
function fakeEcs(statuses: EcsTask[], runTaskResponse = { tasks: [{ taskArn: TASK }] }) {
    const calls: { op: string; input: unknown }[] = [];
    let i = 0;
    const ecs: EcsLike = {
        async runTask(input: RunTaskRequest) { calls.push({ op: "runTask", input }); return runTaskResponse; },
        async describeTasks(input) { calls.push({ op: "describeTasks", input }); return { tasks: [{ taskArn: TASK, ...statuses[Math.min(i++, statuses.length - 1)] }] }; },
    };
    return { ecs, calls };
}

function deps(ecs: EcsLike, overrides: Partial<RunMigrationsDeps> = {}): RunMigrationsDeps & { slept: number[] } {
    let clock = 1_000;
    const slept: number[] = [];
    return { ecs, slept, sleep: async (ms) => { slept.push(ms); clock += ms; }, now: () => clock,
        deadline: 1_000 + 60_000, pollMs: 5_000, startedBy: "request-1", ...overrides };
}

const stopped = (containers: EcsTask["containers"], extra: Partial<EcsTask> = {}): EcsTask =>
    ({ lastStatus: "STOPPED", containers, ...extra });

describe("migrations runner handler (a fake ECS object in place of the SDK client: the runner's logic)", () => {
    it("runs exactly one task of the given definition in the given cluster with the capacity provider strategy", () => {
        assert.deepEqual(buildRunTaskRequest({ cluster: CLUSTER, taskDefinition: TASK_DEF, capacityProviderStrategy: STRATEGY }, "req-1"),
            { cluster: CLUSTER, taskDefinition: TASK_DEF, count: 1, startedBy: "req-1", capacityProviderStrategy: STRATEGY });
    });

    it("truncates startedBy to the 36 characters ECS accepts", () => {
        assert.equal(buildRunTaskRequest({ cluster: CLUSTER, taskDefinition: TASK_DEF }, "x".repeat(50)).startedBy.length, 36);
    });

    it("fails on an input without a task definition, naming the field", () => {
        assert.throws(() => buildRunTaskRequest({ cluster: CLUSTER }, "r"), /input\.taskDefinition must be a non-empty string/);
        assert.throws(() => buildRunTaskRequest({ cluster: CLUSTER, taskDefinition: TASK_DEF, capacityProviderStrategy: [] }, "r"),
            /capacityProviderStrategy must be a non-empty list/);
    });

    it("fails when RunTask reports a placement failure, quoting ECS's reason", () => {
        assert.throws(() => startedTaskArn({ failures: [{ arn: CLUSTER, reason: "RESOURCE:MEMORY" }] }), /RunTask failed: .*RESOURCE:MEMORY/);
    });

    it("accepts a stopped task only when every container exited 0", () => {
        assert.equal(interpretStoppedTask(stopped([{ name: "migrate", exitCode: 0 }])).ok, true);
        const failed = interpretStoppedTask(stopped([{ name: "migrate", exitCode: 1 }], { taskArn: TASK, stopCode: "EssentialContainerExited" }));
        assert.equal(failed.ok, false);
        assert.match(failed.message, /migrate exited 1; EssentialContainerExited/);
    });

    it("treats a container that never ran (no exit code) as a failure with its reason", () => {
        const v = interpretStoppedTask(stopped([{ name: "migrate", reason: "CannotPullContainerError: not found" }]));
        assert.equal(v.ok, false);
        assert.match(v.message, /migrate did not run \(CannotPullContainerError: not found\)/);
        assert.equal(interpretStoppedTask(stopped([])).ok, false);
    });

    it("polls until the task stops and succeeds when migrate exits 0", async () => {
        const { ecs, calls } = fakeEcs([{ lastStatus: "PENDING" }, { lastStatus: "RUNNING" }, stopped([{ name: "migrate", exitCode: 0 }])]);
        const d = deps(ecs);
        const result = await runMigrations({ cluster: CLUSTER, taskDefinition: TASK_DEF }, d);
        assert.equal(result.status, "SUCCEEDED");
        assert.equal(result.taskArn, TASK);
        assert.deepEqual(calls.map((c) => c.op), ["runTask", "describeTasks", "describeTasks", "describeTasks"]);
        assert.deepEqual(calls[1].input, { cluster: CLUSTER, tasks: [TASK] });
        assert.deepEqual(d.slept, [5_000, 5_000]);
    });

    it("fails the invocation when migrate exits non-zero", async () => {
        const { ecs } = fakeEcs([stopped([{ name: "migrate", exitCode: 2 }])]);
        await assert.rejects(runMigrations({ cluster: CLUSTER, taskDefinition: TASK_DEF }, deps(ecs)), /migrate exited 2/);
    });

    it("gives up with an error before the Lambda deadline when the task keeps running", async () => {
        const { ecs, calls } = fakeEcs([{ lastStatus: "RUNNING" }]);
        await assert.rejects(runMigrations({ cluster: CLUSTER, taskDefinition: TASK_DEF }, deps(ecs, { deadline: 1_000 + 12_000 })),
            /still RUNNING when the runner ran out of time/);
        assert.equal(calls.filter((c) => c.op === "describeTasks").length, 3);
    });

    it("the handler tags the task with the Lambda request id and stops 10 s before Lambda's deadline", async () => {
        const { ecs, calls } = fakeEcs([{ lastStatus: "RUNNING" }]);
        let clock = 0;
        const handler = createHandler({ ecs: async () => ecs, now: () => clock, sleep: async (ms) => { clock += ms; }, pollMs: 5_000 });
        await assert.rejects(handler({ cluster: CLUSTER, taskDefinition: TASK_DEF }, { awsRequestId: "lambda-req-7", getRemainingTimeInMillis: () => 30_000 }),
            /ran out of time/);
        assert.equal((calls[0].input as RunTaskRequest).startedBy, "lambda-req-7");
        assert.equal(clock, 20_000, "30 s left minus 10 s: polls up to 20 s, never sleeps past it");
        assert.equal(calls.filter((c) => c.op === "describeTasks").length, 5);
    });
});

describe("migrations runner handler on the real @aws-sdk/client-ecs (API answers from aws-sdk-client-mock)", () => {
    // The handler as Lambda runs it: its default ECS factory imports the SDK (the runtime's own
    // there, the repository's here) and calls RunTask and DescribeTasks through it.
    const ecs = mockClient(ECSClient);
    const region = process.env.AWS_REGION;
    before(() => { process.env.AWS_REGION = "us-east-1"; });
    after(() => {
        ecs.restore();
        if (region === undefined) delete process.env.AWS_REGION; else process.env.AWS_REGION = region;
    });
    beforeEach(() => ecs.reset());
    const context = { awsRequestId: "lambda-req-9", getRemainingTimeInMillis: () => 600_000 };
    const run = () => createHandler({ sleep: async () => undefined, pollMs: 1 })({ cluster: CLUSTER, taskDefinition: TASK_DEF, capacityProviderStrategy: STRATEGY }, context);

    it("starts one migrate task through the SDK, tagged with the request id, and succeeds when it stops with exit 0", async () => {
        ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
        ecs.on(DescribeTasksCommand).resolvesOnce({ tasks: [{ taskArn: TASK, lastStatus: "PROVISIONING" }] })
            .resolves({ tasks: [{ taskArn: TASK, lastStatus: "STOPPED", containers: [{ name: "migrate", exitCode: 0 }] }] });
        assert.deepEqual(await run(), { taskArn: TASK, status: "SUCCEEDED", message: `${TASK} exited 0` });
        assert.deepEqual(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input), [{ cluster: CLUSTER, taskDefinition: TASK_DEF, count: 1,
            startedBy: "lambda-req-9", capacityProviderStrategy: STRATEGY }]);
        assert.deepEqual(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input), [{ cluster: CLUSTER, tasks: [TASK] }, { cluster: CLUSTER, tasks: [TASK] }]);
    });

    it("fails the invocation with ECS's reason when the task cannot be placed, or migrate exits non-zero", async () => {
        ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ arn: CLUSTER, reason: "RESOURCE:MEMORY" }] });
        await assert.rejects(run(), /RunTask failed: .*RESOURCE:MEMORY/);
        ecs.reset();
        ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }] });
        ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: "STOPPED", stoppedReason: "Essential container in task exited",
            containers: [{ name: "migrate", exitCode: 1 }] }] });
        await assert.rejects(run(), /migrate exited 1.*Essential container in task exited/);
    });

    it("fails, naming the SDK's error, when ECS refuses the call (e.g. the runner's role lacks ecs:RunTask)", async () => {
        ecs.on(RunTaskCommand).rejects(Object.assign(new Error("User is not authorized to perform: ecs:RunTask"), { name: "AccessDeniedException" }));
        await assert.rejects(run(), /not authorized to perform: ecs:RunTask/);
    });
});

describe("migrations runner policy", () => {
    const doc = migrationRunnerPolicy({ region: "us-east-1", account: "123456789012", clusterArn: CLUSTER,
        clusterName: "todobackend-dev-cluster", migrateFamily: "todobackend-dev-migrate",
        passRoleArns: ["arn:aws:iam::123456789012:role/exec", "arn:aws:iam::123456789012:role/task"],
        logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/todobackend-dev-migrations" });

    it("runs only the migrate family, only in this cluster; watches only this cluster's tasks", () => {
        const inCluster = { ArnEquals: { "ecs:cluster": CLUSTER } };
        assert.deepEqual(doc.Statement.slice(0, 2), [
            { Sid: "RunMigrateTask", Effect: "Allow", Action: ["ecs:RunTask"],
                Resource: "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-dev-migrate:*", Condition: inCluster },
            { Sid: "WatchMigrateTask", Effect: "Allow", Action: ["ecs:DescribeTasks"],
                Resource: "arn:aws:ecs:us-east-1:123456789012:task/todobackend-dev-cluster/*", Condition: inCluster },
        ]);
    });

    it("passes exactly the two task roles, and only to ECS tasks", () => {
        assert.deepEqual(doc.Statement[2], { Sid: "PassMigrateRoles", Effect: "Allow", Action: ["iam:PassRole"],
            Resource: ["arn:aws:iam::123456789012:role/exec", "arn:aws:iam::123456789012:role/task"],
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } });
    });

    it("writes only to its own log group and grants nothing else", () => {
        assert.deepEqual(doc.Statement[3], { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/todobackend-dev-migrations:*" });
        assert.equal(doc.Statement.length, 4);
        assert.doesNotMatch(JSON.stringify(doc), /"\*"|ecs:\*/);
    });
});

describe("Migrations component", () => {
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(path.join(__dirname, "programs", "migrations.ts"), "migrations", { stack: "prod" });
    });
    const inputsOf = (type: string, name: string) => e.one(type, name).inputs as Record<string, any>;
    const PROD_TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-prod-migrate:3";

    it("deploys the runner from this repo on a current Node runtime with Lambda's longest timeout", () => {
        const fn = inputsOf("aws:lambda/function:Function", "migrations");
        assert.deepEqual({ name: fn.name, runtime: fn.runtime, handler: fn.handler, timeout: fn.timeout, role: fn.role, logGroup: fn.loggingConfig.logGroup },
            { name: "todobackend-prod-migrations", runtime: "nodejs22.x", handler: "index.handler", timeout: 900,
                role: "arn:aws:iam::123456789012:role/todobackend-prod/todobackend-prod-migrations", logGroup: "/aws/lambda/todobackend-prod-migrations" });
        assert.deepEqual(fn.code, { __pulumiArchive: true, assets: { "index.mjs": { __pulumiAsset: true, path: RUNNER_SOURCE } } },
            "ships only the handler, which needs nothing beyond the runtime's SDK");
        assert.match(RUNNER_SOURCE, /infra\/functions\/runMigrations\/index\.mjs$/);
        assert.ok(fs.existsSync(RUNNER_SOURCE));
        const logs = inputsOf("aws:cloudwatch/logGroup:LogGroup", "migrations");
        assert.deepEqual([logs.name, logs.retentionInDays], ["/aws/lambda/todobackend-prod-migrations", 7]);
    });

    it("invokes the runner with the migrate task definition ARN, and re-invokes when it changes", () => {
        const inv = inputsOf("aws:lambda/invocation:Invocation", "migrations");
        assert.equal(inv.functionName, "todobackend-prod-migrations");
        assert.deepEqual(JSON.parse(inv.input), { cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-prod-cluster",
            taskDefinition: PROD_TASK_DEF, capacityProviderStrategy: [{ capacityProvider: "todobackend-prod-capacity", weight: 1, base: 0 }] });
        assert.deepEqual(inv.triggers, { taskDefinition: PROD_TASK_DEF });
        assert.equal(inv.lifecycleScope, undefined, "runs on create and on every change only, never on destroy");
    });

    it("sends the runner an input its handler accepts", () => {
        const input = migrationsInput("c", "td", "cp");
        assert.deepEqual(buildRunTaskRequest(input, "r").capacityProviderStrategy, input.capacityProviderStrategy);
    });

    it("lets only Lambda assume the runner role, limited to this cluster, family, two roles and log group", () => {
        assert.deepEqual(policyDoc(inputsOf("aws:iam/role:Role", "migrations").assumeRolePolicy).Statement,
            [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }]);
        const doc = policyDoc(inputsOf("aws:iam/rolePolicy:RolePolicy", "migrations").policy);
        assert.deepEqual(doc.Statement.map((s) => [s.Sid, s.Resource]), [
            ["RunMigrateTask", "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-prod-migrate:*"],
            ["WatchMigrateTask", "arn:aws:ecs:us-east-1:123456789012:task/todobackend-prod-cluster/*"],
            ["PassMigrateRoles", ["arn:aws:iam::123456789012:role/todobackend-prod-app-execution", "arn:aws:iam::123456789012:role/todobackend-prod-app-task"]],
            ["Logs", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/todobackend-prod-migrations:*"],
        ]);
        assert.deepEqual(doc.Statement[0].Condition, { ArnEquals: { "ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-prod-cluster" } });
    });

    it("tags the runner, its role and log group and parents them to the component", () => {
        const component = e.one("todobackend:infra:Migrations", "migrations");
        for (const r of e.resources.filter((x) => x !== component)) {
            assert.equal(r.parent, component.urn, r.name);
            if (r.type === "aws:iam/rolePolicy:RolePolicy" || r.type === "aws:lambda/invocation:Invocation") continue;
            for (const [k, v] of Object.entries(TAGS)) assert.equal((r.inputs.tags as Record<string, string>)[k], v, `${r.type} ${k}`);
        }
    });
});
