#!/usr/bin/env node
// Reads Pulumi update plans (`pulumi preview --save-plan`) in the pipeline's deploy jobs. Plain
// Node without dependencies: the Pulumi image has node but not jq.
//
//   node buildspecs/plan-check.js summary <plan.json>
//       One line for the approver: "2 to create, 1 to update" (or "no changes").
//   node buildspecs/plan-check.js compare <approved.json> <current.json>
//       Exit 0 when a fresh preview would take exactly the approved steps with the approved goals,
//       else exit 1 naming each resource that differs. Secret values are compared only as "a
//       secret" (their ciphertext changes on every preview); `--plan` is what pins them. ExecuteChangeSet runs it before
//       `pulumi up --plan`, so prod is refused even when update plans are switched off
//       (USE_UPDATE_PLAN=false, for their known false "violates plan" errors).
"use strict";
const fs = require("node:fs");

function readPlan(file) {
    const plan = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!plan || typeof plan !== "object" || typeof plan.resourcePlans !== "object" || plan.resourcePlans === null) {
        throw new Error(`${file} is not a Pulumi update plan (no resourcePlans)`);
    }
    return plan.resourcePlans;
}

// How Pulumi marks a secret in a plan: its value is encrypted with a fresh nonce on every preview.
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * JSON with object keys sorted, so equal goals compare equal whatever their key order. Secrets
 * become "<secret>": their ciphertext differs between two previews of the same value, and
 * comparing it would refuse every update that changes a secret.
 */
function canonical(value) {
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    if (value && typeof value === "object" && value[SECRET_SIG_KEY] === SECRET_SIG) return JSON.stringify("<secret>");
    if (value && typeof value === "object") {
        return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
    }
    return JSON.stringify(value === undefined ? null : value);
}

const ORDER = ["create", "update", "replace", "create-replacement", "delete-replaced", "delete", "read", "import"];

function summary(resourcePlans) {
    const counts = new Map();
    for (const rp of Object.values(resourcePlans)) {
        for (const op of rp.steps || []) {
            if (op !== "same") counts.set(op, (counts.get(op) || 0) + 1);
        }
    }
    if (counts.size === 0) return "no changes";
    const ops = [...counts.keys()].sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
    return ops.map((op) => `${counts.get(op)} to ${op}`).join(", ");
}

function compare(approved, current) {
    const differences = [];
    for (const urn of [...new Set([...Object.keys(approved), ...Object.keys(current)])].sort()) {
        const a = approved[urn];
        const c = current[urn];
        const steps = (rp) => (rp ? (rp.steps || []).join("+") || "none" : "absent");
        if (!a || !c || steps(a) !== steps(c)) {
            differences.push(`${urn}: approved ${steps(a)}, now ${steps(c)}`);
        } else if (canonical(a.goal) !== canonical(c.goal)) {
            differences.push(`${urn}: ${steps(c)} with different inputs than approved`);
        }
    }
    return differences;
}

function main(argv) {
    const [command, ...files] = argv;
    if (command === "summary" && files.length === 1) {
        console.log(summary(readPlan(files[0])));
        return 0;
    }
    if (command === "compare" && files.length === 2) {
        const differences = compare(readPlan(files[0]), readPlan(files[1]));
        if (differences.length === 0) {
            console.log("The prod preview matches the approved one.");
            return 0;
        }
        console.error("Refusing to update prod: the preview no longer matches the approved one " +
            "(the stack, its config or the program changed since approval). Re-run the pipeline to preview and approve again.");
        for (const d of differences) console.error(`  ${d}`);
        return 1;
    }
    console.error("usage: plan-check.js summary <plan.json> | compare <approved.json> <current.json>");
    return 2;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        console.error(e instanceof Error ? e.message : String(e));
        process.exitCode = 2;
    }
}

module.exports = { summary, compare, canonical };
