// Runs the migrate task once and fails unless every container exits 0. aws.lambda.Invocation calls
// it whenever the migrate task definition changes, before the ECS service updates (the book's
// `MigrateTask` custom resource, book §6.8). The logic is exported as pure functions over an
// injected ECS client so it is tested without AWS; `handler` only binds the SDK v3 the runtime ships.

const MAX_STARTED_BY = 36;

/** Validates the invocation input and builds the RunTask request. */
export function buildRunTaskRequest(event, startedBy) {
    for (const key of ["cluster", "taskDefinition"]) {
        if (typeof event?.[key] !== "string" || event[key] === "") {
            throw new Error(`input.${key} must be a non-empty string; got ${JSON.stringify(event?.[key])}`);
        }
    }
    const request = { cluster: event.cluster, taskDefinition: event.taskDefinition, count: 1,
        startedBy: String(startedBy).slice(0, MAX_STARTED_BY) };
    if (event.capacityProviderStrategy !== undefined) {
        if (!Array.isArray(event.capacityProviderStrategy) || event.capacityProviderStrategy.length === 0) {
            throw new Error("input.capacityProviderStrategy must be a non-empty list when given");
        }
        request.capacityProviderStrategy = event.capacityProviderStrategy;
    }
    return request;
}

/** Reads a RunTask response: the started task's ARN, or an error carrying ECS's failure reasons. */
export function startedTaskArn(response) {
    const failures = response?.failures ?? [];
    if (failures.length > 0) {
        throw new Error(`RunTask failed: ${failures.map((f) => `${f.arn ?? "task"}: ${f.reason}${f.detail ? ` (${f.detail})` : ""}`).join("; ")}`);
    }
    const arn = response?.tasks?.[0]?.taskArn;
    if (!arn) throw new Error("RunTask returned no task and no failure");
    return arn;
}

/** `{ ok, message }` for a STOPPED task: ok only when every container exited with code 0. */
export function interpretStoppedTask(task) {
    const containers = task.containers ?? [];
    const bad = containers.filter((c) => c.exitCode !== 0);
    if (containers.length > 0 && bad.length === 0) {
        return { ok: true, message: `${task.taskArn} exited 0` };
    }
    const details = bad.map((c) => c.exitCode === undefined || c.exitCode === null
        ? `${c.name} did not run (${c.reason ?? "no reason given"})`
        : `${c.name} exited ${c.exitCode}${c.reason ? ` (${c.reason})` : ""}`);
    const stop = [task.stopCode, task.stoppedReason].filter(Boolean).join(": ");
    return { ok: false, message: `${task.taskArn} failed: ${details.join("; ") || "no containers"}${stop ? `; ${stop}` : ""}` };
}

/**
 * Starts the task and polls until it stops or the deadline passes.
 * deps: { ecs: { runTask(req), describeTasks(req) }, sleep(ms), now(), deadline (epoch ms), pollMs, startedBy }
 */
export async function runMigrations(event, deps) {
    const request = buildRunTaskRequest(event, deps.startedBy);
    const taskArn = startedTaskArn(await deps.ecs.runTask(request));
    for (;;) {
        const described = await deps.ecs.describeTasks({ cluster: request.cluster, tasks: [taskArn] });
        const task = described?.tasks?.find((t) => t.taskArn === taskArn);
        if (task?.lastStatus === "STOPPED") {
            const verdict = interpretStoppedTask(task);
            if (!verdict.ok) throw new Error(verdict.message);
            return { taskArn, status: "SUCCEEDED", message: verdict.message };
        }
        if (deps.now() + deps.pollMs > deps.deadline) {
            throw new Error(`${taskArn} still ${task?.lastStatus ?? "unknown"} when the runner ran out of time; ` +
                "its exit code is not known, so the deployment stops here");
        }
        await deps.sleep(deps.pollMs);
    }
}

/** An ECS client of the SDK v3 the Lambda runtime ships, behind the two calls the runner makes. */
async function sdkEcs() {
    const { ECSClient, RunTaskCommand, DescribeTasksCommand } = await import("@aws-sdk/client-ecs");
    const client = new ECSClient({});
    return {
        runTask: (input) => client.send(new RunTaskCommand(input)),
        describeTasks: (input) => client.send(new DescribeTasksCommand(input)),
    };
}

/**
 * The Lambda handler over an ECS factory and a clock, so its use of the context (deadline, request
 * id) is tested too. Lambda passes a callback third, hence a factory rather than a default argument.
 */
export function createHandler({ ecs = sdkEcs, sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)), now = () => Date.now(), pollMs = 6_000 } = {}) {
    return async (event, context) => {
        const result = await runMigrations(event, {
            ecs: await ecs(), sleep, now, pollMs,
            // Keep 10 s to report the failure ourselves rather than be killed mid-poll.
            deadline: now() + context.getRemainingTimeInMillis() - 10_000,
            startedBy: context.awsRequestId,
        });
        console.log(JSON.stringify(result));
        return result;
    };
}

export const handler = createHandler();
