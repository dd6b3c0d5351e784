#!/usr/bin/env node
// After `pulumi up` of an environment: did ECS really roll out the new task definition?
// The provider's waitForSteadyState also succeeds when the deployment circuit breaker rolls the
// deployment back (terraform-provider-aws #20858): the stage would go green while the old image
// runs. This asks ECS until the primary deployment runs the task definition the stack declares
// with rolloutState COMPLETED, and fails otherwise.
//
//   node buildspecs/rollout-check.js <stack>
//       reads clusterName, serviceName and appTaskDefinitionArn from `pulumi stack output --json`,
//       calls ECS DescribeServices every ROLLOUT_POLL_SECONDS (15) for at most
//       ROLLOUT_TIMEOUT_SECONDS (900); exit 0 when completed, 1 when rolled back, failed or late.
//
// ECS is asked through @aws-sdk/client-ecs from the repository's node_modules (the deploy
// buildspecs run `npm ci` first): the deploy image (pulumi/pulumi-nodejs) has node and pulumi
// but no `aws` CLI. Credentials and region come from the CodeBuild environment (AWS_REGION).
"use strict";
const { execFileSync } = require("node:child_process");
const { DescribeServicesCommand, ECSClient } = require("@aws-sdk/client-ecs");

/** The verdict on one DescribeServices answer: completed, in-progress or failed, with why. */
function judge(answer, expected) {
    const service = (answer.services || [])[0];
    if (!service) return { verdict: "failed", message: `ECS found no such service (${JSON.stringify(answer.failures || [])})` };
    const primary = (service.deployments || []).find((d) => d.status === "PRIMARY");
    if (!primary) return { verdict: "failed", message: `service ${service.serviceName} has no primary deployment` };
    const lastEvent = ((service.events || [])[0] || {}).message || "no event";
    if (primary.taskDefinition !== expected) {
        return { verdict: "failed", message: `the primary deployment runs ${primary.taskDefinition}, not ${expected}: ECS rolled the deployment back (last event: ${lastEvent})` };
    }
    if (primary.rolloutState === "COMPLETED") return { verdict: "completed", message: `${service.serviceName} runs ${expected} (${primary.runningCount}/${primary.desiredCount} tasks), rollout COMPLETED` };
    if (primary.rolloutState === "FAILED") return { verdict: "failed", message: `the rollout of ${expected} FAILED: ${primary.rolloutStateReason || lastEvent}` };
    return { verdict: "in-progress", message: `rollout ${primary.rolloutState || "state unknown"}: ${primary.runningCount}/${primary.desiredCount} tasks of ${expected}` };
}

/** The stack's outputs as `pulumi stack output --json -s <stack>` prints them. */
function pulumiStackOutputs(stack) {
    return JSON.parse(execFileSync("pulumi", ["stack", "output", "--json", "-s", stack], { encoding: "utf8" }));
}

/**
 * Polls ECS until the rollout settles. Returns the exit code: 0 completed, 1 rolled back, failed,
 * late, or outputs missing. `deps` replace the real outputs reader, clock and sleep in tests.
 */
async function checkRollout(stack, deps = {}) {
    const client = deps.client || new ECSClient({});
    const outputs = (deps.outputs || pulumiStackOutputs)(stack);
    const log = deps.log || ((line) => console.log(line));
    const error = deps.error || ((line) => console.error(line));
    const sleep = deps.sleep || ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const now = deps.now || Date.now;
    for (const key of ["clusterName", "serviceName", "appTaskDefinitionArn"]) {
        if (typeof outputs[key] !== "string") {
            error(`rollout-check: stack ${stack} has no output ${key}. Fix: run pulumi up -s ${stack} with this repository's program, which exports it`);
            return 1;
        }
    }
    const pollSeconds = Number(process.env.ROLLOUT_POLL_SECONDS || 15);
    const timeoutSeconds = Number(process.env.ROLLOUT_TIMEOUT_SECONDS || 900);
    const deadline = now() + timeoutSeconds * 1000;
    for (;;) {
        const answer = await client.send(new DescribeServicesCommand({ cluster: outputs.clusterName, services: [outputs.serviceName] }));
        const v = judge(answer, outputs.appTaskDefinitionArn);
        log(`rollout-check ${stack}: ${v.verdict}: ${v.message}`);
        if (v.verdict !== "in-progress") return v.verdict === "completed" ? 0 : 1;
        if (now() + pollSeconds * 1000 > deadline) {
            error(`rollout-check ${stack}: not completed within ${timeoutSeconds} s. Fix: look at the service's events in the ECS console, or raise ROLLOUT_TIMEOUT_SECONDS`);
            return 1;
        }
        await sleep(pollSeconds * 1000);
    }
}

async function main(argv) {
    const stack = argv[0];
    if (!stack) {
        console.error("usage: node buildspecs/rollout-check.js <stack>");
        return 2;
    }
    return checkRollout(stack);
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
        console.error(`rollout-check: ${e && e.name ? `${e.name}: ` : ""}${e && e.message ? e.message : e}`);
        process.exit(1);
    });
}
module.exports = { judge, checkRollout, pulumiStackOutputs };
