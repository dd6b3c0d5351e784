// `npm run policy:offline -- <stack> [--config key=value]... [--policy-config file.json] [--resources file.json]`
//
// The policy verdict without AWS credentials: evaluates the stack's program under Pulumi's
// runtime mocks (scripts/offline/evaluate.ts) and runs every policy of the pack over the
// resources it declares. Exits 1 on a mandatory violation, 2 on bad usage.
import * as fs from "node:fs";
import * as path from "node:path";
import { DeclaredResource, PackConfig, resolvePolicyConfig, runPolicies, Violation } from "../policy/run";
import { policies as packPolicies } from "../policy/policies";
import { withAwsxChildren } from "./offline/awsxVpc";
import { overrideFix } from "./offline/evaluate";

export type Evaluate = (stack: string, opts?: { config?: Record<string, string> }) => Promise<DeclaredResource[]>;

export const CAVEAT =
    "Checked the inputs the program declares under Pulumi's mocks, not values only AWS knows " +
    "(provider defaults, computed IDs, drift, resources outside this program). `pulumi preview --policy-pack policy` with credentials is the full check.";

export interface OfflineOptions {
    stack: string;
    /** Stack config overrides (`todobackend:key` → value), e.g. to try a change without editing files. */
    config?: Record<string, string>;
    /** Policy config in `--policy-pack-config` format. */
    policyConfig?: PackConfig;
    /** A JSON file of declared resources to check instead of evaluating the program (hand-built or saved lists). */
    resourcesFile?: string;
}

export interface OfflineResult {
    /** Resources checked (components apart), awsx's VPC children included: the count `npm run plan:offline` shows. */
    resources: number;
    /** Each policy run, with the enforcement level it ran at. */
    policies: Array<{ name: string; level: string }>;
    violations: Violation[];
    mandatory: number;
    report: string;
}

/** A declared resource as the offline evaluation records it: components carry `custom: false`. */
type Checked = DeclaredResource & { custom?: boolean };

/** Renders violations the way `pulumi preview` groups them: level, policy, resource, message. */
export function formatReport(stack: string, resources: Checked[], violations: Violation[], policies: OfflineResult["policies"],
    overrides: Record<string, string> = {}, fromOverrides: Set<Violation> = new Set()): string {
    const components = resources.filter((r) => r.custom === false).length;
    const lines = [`Offline policy check of stack '${stack}': ${resources.length - components} resources in ${components} components.`,
        `Policies run: ${policies.map((p) => `${p.name} (${p.level})`).join(", ")}.`];
    const flags = Object.entries(overrides).map(([k, v]) => `--config ${k}=${v}`);
    if (flags.length > 0) lines.push(`Config overridden on the command line: ${flags.join(" ")}.`);
    for (const v of violations) {
        const where = v.resource ? `${v.resource.name} (${v.resource.type})` : "stack";
        lines.push(`  [${v.enforcementLevel}] ${v.policy}: ${where}`, `      ${v.message}`);
        // The policy's fix speaks of the program; this violation comes from a flag of this command.
        if (fromOverrides.has(v)) {
            const set = Object.entries(overrides).map(([k, val]) => `pulumi config set ${k} ${val} -s ${stack}`).join(" && ");
            lines.push(`      Caused by ${flags.join(" ")}: the stack as committed passes this policy. Fix: drop the flag; ` +
                `the same change made for real (\`${set}\`) would fail the same way.`);
        }
    }
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    lines.push(violations.length === 0
        ? "No policy violations."
        : `${mandatory} mandatory and ${violations.length - mandatory} advisory violation(s).`);
    lines.push(CAVEAT);
    return lines.join("\n");
}

const key = (v: Violation) => `${v.policy}|${v.resource?.urn ?? ""}|${v.message}`;

/**
 * Evaluates `stack` with `evaluate` and runs the pack over what it declares, awsx's VPC children
 * included. With config overrides, the stack as committed is checked too, so a violation only the
 * overrides cause is reported as theirs.
 */
export async function checkStack(options: OfflineOptions, evaluate: Evaluate = loadEvaluator()): Promise<OfflineResult> {
    const declared = async (config?: Record<string, string>) => withAwsxChildren(await evaluate(options.stack, { config }) as Checked[]) as Checked[];
    const resources = await declared(options.config);
    const violations = await runPolicies(resources, { config: options.policyConfig });
    const overrides = options.config ?? {};
    const fromOverrides = new Set<Violation>();
    if (Object.keys(overrides).length > 0) {
        const committed = new Set((await runPolicies(await declared(), { config: options.policyConfig })).map(key));
        for (const v of violations) if (!committed.has(key(v))) fromOverrides.add(v);
    }
    const policies = packPolicies.map((p) => ({ name: p.name, level: resolvePolicyConfig(p, options.policyConfig).level }));
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const components = resources.filter((r) => r.custom === false).length;
    return { resources: resources.length - components, policies, violations, mandatory,
        report: formatReport(options.stack, resources, violations, policies, overrides, fromOverrides) };
}

/** The offline evaluation lives with the environment stacks; loaded lazily so tests can inject their own. */
function loadEvaluator(): Evaluate {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return (require("./offline/evaluate") as { evaluateStack: Evaluate }).evaluateStack;
    } catch (e) {
        if ((e as { code?: string }).code !== "MODULE_NOT_FOUND" || !String((e as Error).message).includes("offline/evaluate")) throw e;
        throw new Error("scripts/offline/evaluate.ts (the offline evaluation of a stack) is not in this checkout; " +
            "pass a resource list with --resources <file.json> instead");
    }
}

/** Parses the command line; throws with a usage message on anything it does not understand. */
export function parseArgs(argv: string[]): OfflineOptions {
    const usage = "usage: npm run policy:offline -- <stack> [--config key=value]... [--policy-config file.json] [--resources file.json]";
    const config: Record<string, string> = {};
    let stack: string | undefined;
    let policyConfig: PackConfig | undefined;
    let resourcesFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--config") {
            const pair = argv[++i] ?? "";
            const eq = pair.indexOf("=");
            if (eq <= 0) throw new Error(`--config needs key=value, got '${pair}'. ${usage}`);
            const key = pair.slice(0, eq);
            config[key.includes(":") ? key : `todobackend:${key}`] = pair.slice(eq + 1);
        } else if (arg === "--policy-config") {
            const file = argv[++i];
            if (!file) throw new Error(`--policy-config needs a JSON file. ${usage}`);
            policyConfig = JSON.parse(fs.readFileSync(path.resolve(file), "utf8")) as PackConfig;
        } else if (arg === "--resources") {
            resourcesFile = argv[++i];
            if (!resourcesFile) throw new Error(`--resources needs a JSON file of declared resources. ${usage}`);
        } else if (arg.startsWith("-") || stack !== undefined) {
            throw new Error(`unexpected argument '${arg}'. ${usage}`);
        } else {
            stack = arg;
        }
    }
    if (!stack) throw new Error(`no stack given. ${usage}`);
    return { stack, config, policyConfig, resourcesFile };
}

async function main(): Promise<number> {
    let options: OfflineOptions;
    try {
        options = parseArgs(process.argv.slice(2));
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    const file = options.resourcesFile;
    let result: OfflineResult;
    try {
        result = await checkStack(options, file
            ? async () => JSON.parse(fs.readFileSync(path.resolve(file), "utf8")) as DeclaredResource[]
            : loadEvaluator());
    } catch (e) {
        throw new Error(overrideFix((e as Error).message, options.stack, options.config));
    }
    console.log(result.report);
    return result.mandatory > 0 ? 1 : 0;
}

if (require.main === module) {
    main().then((code) => process.exit(code), (e: unknown) => {
        console.error(`policy:offline failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(2);
    });
}
