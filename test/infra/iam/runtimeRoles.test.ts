// The roles the running system uses (CodeBuild, the pipeline, tasks, the instances, the
// migrations runner), checked with a real IAM policy evaluator against what each part calls
// (test/infra/iam/runtimeActions.ts). A task's calls are read from its own task definition: the
// images it pulls, the log group it writes, the secrets ECS resolves for it.
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, EvaluatedResource, evaluateStack, policyDoc, startEarly } from "../harness";
import { MOCK_ACCOUNT } from "../../../scripts/offline/mocks";
import { mismatches, Policies, REGION, Request } from "./requests";
import { APP_BUILD, INSTANCE_AGENTS, INSTANCE_MANAGED_POLICIES, PIPELINE, pulumiProject, RuntimeCall, TRACES } from "./runtimeActions";

const DELIVERY = "organization/todobackend/delivery";
/** An identity policy allowing everything: what a role made under the boundary could be given. */
const ALLOW_ALL = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
const T = { role: "aws:iam/role:Role", rolePolicy: "aws:iam/rolePolicy:RolePolicy", taskDefinition: "aws:ecs/taskDefinition:TaskDefinition" };

const stacks = startEarly((async () => {
    const delivery = await evaluateStack("delivery", { config: { approvalTopicArn: `arn:aws:sns:${REGION}:${MOCK_ACCOUNT}:approvals` }, background: true });
    const stackOutputs = { [DELIVERY]: delivery.outputs };
    const [dev, prod] = await Promise.all([evaluateStack("dev", { stackOutputs, background: true }), evaluateStack("prod", { stackOutputs, background: true })]);
    return { delivery, dev, prod };
})());

function requests(origin: string, calls: RuntimeCall[], values: Record<string, string>): Request[] {
    const fill = (s: string) => s.replace(/\{(\w+)\}/g, (_m, k: string) => {
        if (values[k] === undefined) throw new Error(`no value for {${k}} in ${s}`);
        return values[k];
    });
    return calls.flatMap((c) => c.actions.map((action) => ({ origin: `${origin}: ${c.what}`, step: "read" as const, action, arn: fill(c.resource),
        context: Object.fromEntries(Object.entries(c.context ?? {}).map(([k, v]) => [k, fill(v)])) })));
}

/** The inline policy of the role whose ARN is `roleArn`. */
function rolePolicyOf(stack: Evaluated, roleArn: string): object {
    const role = stack.byType(T.role).find((r) => `arn:aws:iam::${MOCK_ACCOUNT}:role${r.inputs.path ?? "/"}${r.inputs.name ?? r.name}` === roleArn);
    assert.ok(role, `no role ${roleArn}`);
    const policy = stack.byType(T.rolePolicy).find((p) => p.inputs.role === `${role.name}-id` || p.inputs.role === role.inputs.name);
    assert.ok(policy, `no inline policy for ${role.name}`);
    return policyDoc(policy.inputs.policy);
}

/**
 * What ECS does for a task with its execution role: pull its images, write its logs, resolve its
 * secrets. RDS's master secret carries the tag RDS puts on it, naming the stack's instance.
 */
function executionCalls(td: EvaluatedResource, stack?: Evaluated): Request[] {
    const db = stack?.byType("aws:rds/instance:Instance")[0];
    const rdsTag: Record<string, string> = db ? { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": `arn:aws:rds:${REGION}:${MOCK_ACCOUNT}:db:${db.inputs.identifier}` } : {};
    const containers = JSON.parse(String(td.inputs.containerDefinitions)) as Array<{ image: string; logConfiguration?: { options?: Record<string, string> };
        secrets?: Array<{ valueFrom: string }> }>;
    const out: Request[] = [];
    const origin = `task definition ${td.inputs.family}`;
    for (const c of containers) {
        const ecr = /^(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(c.image);
        if (ecr) {
            out.push({ origin, step: "read", action: "ecr:GetAuthorizationToken", arn: "*", context: {} });
            for (const action of ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]) {
                out.push({ origin: `${origin}: pull ${c.image}`, step: "read", action, arn: `arn:aws:ecr:${ecr[2]}:${ecr[1]}:repository/${ecr[3]}`, context: {} });
            }
        }
        const group = c.logConfiguration?.options?.["awslogs-group"];
        if (group) {
            for (const action of ["logs:CreateLogStream", "logs:PutLogEvents"]) {
                out.push({ origin: `${origin}: logs`, step: "read", action, arn: `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:${group}:log-stream:x/y/z`, context: {} });
            }
        }
        for (const s of c.secrets ?? []) {
            const arn = s.valueFrom.replace(/:[^:]*::$/, "");
            out.push({ origin: `${origin}: secret`, step: "read", action: "secretsmanager:GetSecretValue", arn, context: arn.includes(":secret:rds!") ? rdsTag : {} });
        }
    }
    return out;
}

describe("the running system's roles under a real IAM policy evaluator", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let delivery: Evaluated;
    let envs: Array<["dev" | "prod", Evaluated]>;
    let values: Record<string, string>;
    const deliveryRole = (name: string): Policies => ({ identity: [policyDoc(delivery.one(T.rolePolicy, name).inputs.policy)] });
    const boundary = (env: string) => policyDoc(delivery.one("aws:iam/policy:Policy", `builds-boundary-${env}`).inputs.policy);
    before(async () => {
        const s = await stacks;
        delivery = s.delivery;
        envs = [["dev", s.dev], ["prod", s.prod]];
        const pipelinePolicy = policyDoc(delivery.one(T.rolePolicy, "todobackend").inputs.policy);
        values = { region: REGION, account: MOCK_ACCOUNT, artifacts: "artifacts-bucket",
            connection: pipelinePolicy.Statement.find((st) => st.Sid === "Connection")!.Resource as string };
    });

    it("lets the app build write its log and artifacts, log in to ECR and push the app image", async () => {
        assert.deepEqual(await mismatches(deliveryRole("builds-app"), requests("app build", APP_BUILD, values), "Allowed"), []);
    });

    it("lets the pipeline use the connection and artifacts, start its four projects and notify the approval topic", async () => {
        const calls = [...PIPELINE, { what: "approval notification", actions: ["sns:Publish"], resource: `arn:aws:sns:${REGION}:${MOCK_ACCOUNT}:approvals` }];
        assert.deepEqual(await mismatches(deliveryRole("todobackend"), requests("pipeline", calls, values), "Allowed"), []);
    });

    it("lets each Pulumi project pull the deploy image from ECR with its own role, write its log and read its input", async () => {
        for (const [role, project] of [["builds-deploy-dev", "todobackend-deploy-dev"], ["builds-preview-prod", "todobackend-changeset"],
            ["builds-deploy-prod", "todobackend-execute"]]) {
            assert.deepEqual(await mismatches(deliveryRole(role), requests(project, pulumiProject(project), values), "Allowed"), [], role);
        }
        // The rollout check (buildspecs/rollout-check.js) after each deploy stage's `pulumi up`.
        for (const [role, env] of [["builds-deploy-dev", "dev"], ["builds-deploy-prod", "prod"]]) {
            const rollout: RuntimeCall = { what: "rollout check asks ECS", actions: ["ecs:DescribeServices"],
                resource: `arn:aws:ecs:{region}:{account}:service/todobackend-${env}-cluster/todobackend` };
            assert.deepEqual(await mismatches(deliveryRole(role), requests("rollout-check", [rollout], values), "Allowed"), [], role);
        }
        // And not another stage's log group.
        assert.notDeepEqual(await mismatches(deliveryRole("builds-deploy-dev"), requests("x", pulumiProject("todobackend-execute"), values), "Allowed"), []);
    });

    it("lets every task's execution role pull its images, write its logs and read its secrets, inside the boundary", async () => {
        for (const [env, stack] of envs) {
            const tds = stack.byType(T.taskDefinition);
            assert.equal(tds.length, 3);
            for (const td of tds) {
                const calls = executionCalls(td, stack);
                assert.ok(calls.some((c) => c.action === "logs:PutLogEvents"), `${td.name} logs`);
                const policies = { identity: [rolePolicyOf(stack, String(td.inputs.executionRoleArn))], boundary: boundary(env) };
                assert.deepEqual(await mismatches(policies, calls, "Allowed"), [], `${env} ${td.name}`);
            }
            const app = stack.one(T.taskDefinition, "app");
            assert.equal(executionCalls(app).filter((c) => c.action === "secretsmanager:GetSecretValue").length, 2, "the app reads its two secrets");
            // The always-running app's execution role may not read the RDS master secret, which only migrate uses.
            const master = executionCalls(stack.one(T.taskDefinition, "app-migrate"), stack).filter((c) => c.action === "secretsmanager:GetSecretValue" && c.arn.includes("rds!"));
            assert.equal(master.length, 1);
            assert.deepEqual(await mismatches({ identity: [rolePolicyOf(stack, String(app.inputs.executionRoleArn))], boundary: boundary(env) }, master,
                (d) => d !== "Allowed"), [], `${env}: the app's execution role reads the master secret`);
        }
    });

    it("lets the app and the X-Ray daemon send traces, and no task role read a secret", async () => {
        for (const [env, stack] of envs) {
            for (const td of stack.byType(T.taskDefinition).filter((t) => t.name !== "app-migrate")) {
                const policies = { identity: [rolePolicyOf(stack, String(td.inputs.taskRoleArn))], boundary: boundary(env) };
                assert.deepEqual(await mismatches(policies, requests(td.name, TRACES, values), "Allowed"), [], `${env} ${td.name}`);
                const secret = executionCalls(stack.one(T.taskDefinition, "app")).filter((c) => c.action === "secretsmanager:GetSecretValue");
                assert.deepEqual(await mismatches(policies, secret, (d) => d !== "Allowed"), [], `${env} ${td.name}`);
            }
        }
    });

    /** The ARNs of `env`'s cluster and of one of its container instances. */
    const clusterOf = (env: string) => ({ cluster: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:cluster/todobackend-${env}-cluster`,
        containerInstance: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:container-instance/todobackend-${env}-cluster/0123456789abcdef0123456789abcdef` });
    const instanceRole = (env: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/todobackend-${env}/todobackend-${env}-ecs-instance`;

    it("lets the container instances' agents join their own cluster and pull images, under the instance role's own policy, SSM's managed one and the boundary", async () => {
        for (const [env, stack] of envs) {
            const policies = { identity: [rolePolicyOf(stack, instanceRole(env)), INSTANCE_MANAGED_POLICIES[1]], boundary: boundary(env) };
            assert.deepEqual(await mismatches(policies, requests(`${env} instances`, INSTANCE_AGENTS, { ...values, ...clusterOf(env) }), "Allowed"), [], env);
            // AmazonEC2ContainerServiceforEC2Role lets an instance join any cluster: only SSM's managed policy is attached.
            assert.deepEqual(stack.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs.policyArn),
                ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
        }
    });

    it("lets a container instance join only its own environment's cluster: a dev host cannot register into prod's, poll or report there", async () => {
        for (const [env, stack] of envs) {
            const other = env === "dev" ? "prod" : "dev";
            const ecsCalls = INSTANCE_AGENTS.filter((c) => c.actions.some((a) => a.startsWith("ecs:") && a !== "ecs:DiscoverPollEndpoint"));
            const intoOther = requests(`${env} instance in ${other}'s cluster`, ecsCalls, { ...values, ...clusterOf(other) });
            assert.ok(intoOther.length >= 8);
            // Neither its own policy nor (the second proof) its boundary lets it.
            assert.deepEqual(await mismatches({ identity: [rolePolicyOf(stack, instanceRole(env)), INSTANCE_MANAGED_POLICIES[1]] }, intoOther, (d) => d !== "Allowed"), [], env);
            assert.deepEqual(await mismatches({ identity: [ALLOW_ALL], boundary: boundary(env) }, intoOther, (d) => d !== "Allowed"), [], `${env} boundary`);
        }
    });

    it("confines any role an environment may create to that environment: the dev boundary under an allow-all policy reaches none of prod's secrets, service, cluster or tasks", async () => {
        const [[, dev], [, prod]] = envs;
        const devOnly = { identity: [ALLOW_ALL], boundary: boundary("dev") };
        const prodCluster = clusterOf("prod").cluster;
        const prodSecrets = executionCalls(prod.one(T.taskDefinition, "app-migrate"), prod).filter((c) => c.action === "secretsmanager:GetSecretValue");
        assert.equal(prodSecrets.length, 3, "prod's RDS master password, Django key and app password");
        const at = (action: string, arn: string, context: Record<string, string> = { "ecs:cluster": prodCluster }): Request =>
            ({ origin: "dev-bounded role", step: "update", action, arn, context });
        const prodService = `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:service/todobackend-prod-cluster/todobackend`;
        const attacks: Request[] = [
            ...prodSecrets,
            at("ecs:UpdateService", prodService), at("ecs:DeleteService", prodService),
            at("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/${prod.one(T.taskDefinition, "app-migrate").inputs.family}:1`),
            at("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/${dev.one(T.taskDefinition, "app").inputs.family}:1`),
            at("ecs:StopTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/todobackend-prod-cluster/0123`),
            at("ecs:DescribeTasks", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/todobackend-prod-cluster/0123`),
            at("ecs:RegisterContainerInstance", prodCluster, {}), at("ecs:SubmitTaskStateChange", prodCluster, {}),
            at("ecs:Poll", clusterOf("prod").containerInstance),
            at("ecs:UpdateContainerInstancesState", clusterOf("prod").containerInstance),
        ];
        assert.deepEqual(await mismatches(devOnly, attacks, (d) => d !== "Allowed"), []);
        // The same role reaches dev's own: the boundary is a fence, not a wall.
        const devSecrets = executionCalls(dev.one(T.taskDefinition, "app-migrate"), dev).filter((c) => c.action === "secretsmanager:GetSecretValue");
        const devCluster = clusterOf("dev").cluster;
        const own: Request[] = [...devSecrets,
            at("ecs:RunTask", `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/${dev.one(T.taskDefinition, "app-migrate").inputs.family}:1`, { "ecs:cluster": devCluster }),
            at("ecs:RegisterContainerInstance", devCluster, {})];
        assert.deepEqual(await mismatches(devOnly, own, "Allowed"), []);
        assert.ok(prodSecrets.some((r) => r.context["aws:ResourceTag/aws:rds:primaryDBInstanceArn"] === `arn:aws:rds:${REGION}:${MOCK_ACCOUNT}:db:todobackend-prod-db`),
            "prod's master secret as RDS tags it");
    });

    it("lets the migrations runner run and watch only its task in its cluster and pass only its two roles to ECS", async () => {
        for (const [env, stack] of envs) {
            const fn = stack.one("aws:lambda/function:Function", "app-migrations");
            const policies = { identity: [rolePolicyOf(stack, String(fn.inputs.role))], boundary: boundary(env) };
            const cluster = `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:cluster/todobackend-${env}-cluster`;
            const migrate = stack.one(T.taskDefinition, "app-migrate");
            const inCluster = { "ecs:cluster": cluster };
            const calls: Request[] = [
                { origin: "runner", step: "read", action: "ecs:RunTask", arn: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/${migrate.inputs.family}:1`, context: inCluster },
                { origin: "runner", step: "read", action: "ecs:DescribeTasks", arn: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/todobackend-${env}-cluster/abc`, context: inCluster },
                ...[migrate.inputs.executionRoleArn, migrate.inputs.taskRoleArn].map((arn) => ({ origin: "runner", step: "read" as const, action: "iam:PassRole",
                    arn: String(arn), context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } })),
                ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => ({ origin: "runner", step: "read" as const, action,
                    arn: `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:/aws/lambda/todobackend-${env}-migrations:log-stream:2026/12/03/abc`, context: {} })),
            ];
            assert.deepEqual(await mismatches(policies, calls, "Allowed"), [], env);
            const other = env === "dev" ? "prod" : "dev";
            const elsewhere: Request[] = [
                { origin: "runner", step: "read", action: "ecs:RunTask", arn: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/todobackend-${env}:1`, context: inCluster },
                { origin: "runner", step: "read", action: "ecs:RunTask", arn: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/todobackend-${other}-migrate:1`,
                    context: { "ecs:cluster": `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:cluster/todobackend-${other}-cluster` } },
                { origin: "runner", step: "read", action: "iam:PassRole", arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/todobackend-${env}/todobackend-${env}-ecs-instance`,
                    context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
            ];
            assert.deepEqual(await mismatches(policies, elsewhere, (d) => d !== "Allowed"), [], env);
        }
    });
});
