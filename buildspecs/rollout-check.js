#!/usr/bin/env node
// After `pulumi up` of an environment: did ECS really roll out the new task definition?
// The provider's waitForSteadyState also succeeds when the deployment circuit breaker rolls the
// deployment back (terraform-provider-aws #20858): the stage would go green while the old image
// runs. This asks ECS until the primary deployment runs the task definition the stack declares
// with rolloutState COMPLETED, and fails otherwise.
//
//   node buildspecs/rollout-check.js <stack>
//       reads clusterName, serviceName and appTaskDefinitionArn from `pulumi stack output --json`,
//       polls `aws ecs describe-services` every ROLLOUT_POLL_SECONDS (15) for at most
//       ROLLOUT_TIMEOUT_SECONDS (900); exit 0 when completed, 1 when rolled back, failed or late
//   node buildspecs/rollout-check.js judge <describe-services.json> <task definition arn>
//       one verdict on a recorded answer (the tests')
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");

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

function main(argv) {
    if (argv[0] === "judge") {
        const v = judge(JSON.parse(fs.readFileSync(argv[1], "utf8")), argv[2]);
        console.log(`${v.verdict}: ${v.message}`);
        return v.verdict === "completed" ? 0 : 1;
    }
    const stack = argv[0];
    if (!stack) {
        console.error("usage: node buildspecs/rollout-check.js <stack> | judge <describe-services.json> <task definition arn>");
        return 2;
    }
    const out = JSON.parse(execFileSync("pulumi", ["stack", "output", "--json", "-s", stack], { encoding: "utf8" }));
    for (const key of ["clusterName", "serviceName", "appTaskDefinitionArn"]) {
        if (typeof out[key] !== "string") {
            console.error(`rollout-check: stack ${stack} has no output ${key}`);
            return 1;
        }
    }
    const poll = Number(process.env.ROLLOUT_POLL_SECONDS || 15) * 1000;
    const deadline = Date.now() + Number(process.env.ROLLOUT_TIMEOUT_SECONDS || 900) * 1000;
    for (;;) {
        const answer = JSON.parse(execFileSync("aws", ["ecs", "describe-services", "--cluster", out.clusterName, "--services", out.serviceName, "--output", "json"], { encoding: "utf8" }));
        const v = judge(answer, out.appTaskDefinitionArn);
        console.log(`rollout-check ${stack}: ${v.verdict}: ${v.message}`);
        if (v.verdict !== "in-progress") return v.verdict === "completed" ? 0 : 1;
        if (Date.now() + poll > deadline) {
            console.error(`rollout-check ${stack}: not completed within ${process.env.ROLLOUT_TIMEOUT_SECONDS || 900} s`);
            return 1;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, poll);
    }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
module.exports = { judge };
