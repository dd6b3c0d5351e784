import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { AppError } from "../errors";
import { OPS, Op } from "../jobs/types";
import { ROLES, Role } from "../security/roles";
import { cronProblem } from "../schedules/cron";

/** Rules for one operation on one stack. */
export interface OperationPolicy {
    /** Lowest role that may start the operation. */
    role: Role;
    /** Approvals of a preview needed before it may run; 0 = none. */
    approvals: number;
    /** Lowest role that may approve. */
    approverRole: Role;
    /** When non-empty, only these principals may approve (on top of approverRole). */
    approvers: string[];
}

/** A UTC time range during which the listed operations are refused. */
export interface FreezeWindow {
    /** ISO start, inclusive, for a one-off window. */
    start?: string;
    /** ISO end, exclusive, for a one-off window. */
    end?: string;
    /** Weekly window: days (mon..sun) and HH:MM-HH:MM in UTC. */
    days?: string[];
    from?: string;
    to?: string;
    operations: Op[];
    reason: string;
}

export interface EnvironmentPolicy {
    stack: string;
    /** Where the policy came from: a file path, or "default". */
    source: string;
    operations: Record<Op, OperationPolicy>;
    /** Minutes an approval stays valid. */
    approvalTtlMinutes: number;
    github: {
        /** Preview this stack on pull requests. */
        previewOnPullRequest: boolean;
        /** Update this stack on pushes to `branch`, without approval. */
        updateOnPush: boolean;
        branch: string;
    };
    freezeWindows: FreezeWindow[];
    /** What the service runs on its own on this stack (schedules/). */
    schedules: Schedules;
    /** Stacks whose outputs this one reads; a change of them starts a job here (dependencies/). */
    dependsOn: Dependency[];
}

export interface Schedules {
    /** A refresh in preview mode at each time of `cron` (UTC); with `remediate`, drift found is then put right by an update (approvals apply). */
    driftCheck?: { cron: string; remediate: boolean };
    /** An ephemeral stack: destroyed `ttlMinutes` after its last update, with a reminder `remindMinutesBefore` that. */
    destroy?: { ttlMinutes: number; remindMinutesBefore: number };
}

export interface Dependency {
    stack: string;
    /** The upstream outputs this stack reads; a change of another one triggers nothing. Undefined: all. */
    outputs?: string[];
    /** What a change starts here: a preview, or an update (approvals apply). */
    run: "preview" | "update";
}

/**
 * The policy of a stack without a file: everything works for an operator with no approval,
 * destroy is admin-only, no GitHub triggers. This keeps the service usable on any project.
 */
export function defaultPolicy(stack: string): EnvironmentPolicy {
    const op = (role: Role): OperationPolicy => ({ role, approvals: 0, approverRole: "approver", approvers: [] });
    return {
        stack,
        source: "default",
        operations: { preview: op("operator"), refresh: op("operator"), update: op("operator"), destroy: op("admin") },
        approvalTtlMinutes: 24 * 60,
        github: { previewOnPullRequest: false, updateOnPush: false, branch: "main" },
        freezeWindows: [],
        schedules: {},
        dependsOn: [],
    };
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24 h, UTC)");
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time, e.g. 2026-12-24T00:00:00Z");
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const OperationSchema = z
    .object({
        role: z.enum(ROLES).optional(),
        approvals: z.number().int().min(0).max(10).optional(),
        approverRole: z.enum(ROLES).optional(),
        approvers: z.array(z.string().min(1)).optional(),
    })
    .strict();

const FreezeSchema = z
    .object({
        start: isoTime.optional(),
        end: isoTime.optional(),
        days: z.array(z.enum(DAYS)).min(1).optional(),
        from: hhmm.optional(),
        to: hhmm.optional(),
        operations: z.array(z.enum(OPS)).min(1).default(["update", "destroy"]),
        reason: z.string().min(1).default("freeze window"),
    })
    .strict()
    .refine((w) => (w.start !== undefined && w.end !== undefined) !== (w.days !== undefined), {
        message: "a freeze window is either one-off (start and end) or weekly (days, from, to)",
    })
    .refine((w) => w.days === undefined || (w.from !== undefined && w.to !== undefined), { message: "a weekly freeze window needs from and to" })
    .refine((w) => w.start === undefined || w.end === undefined || Date.parse(w.start) < Date.parse(w.end), { message: "start must be before end" });

const cron = z.string().superRefine((v, ctx) => {
    const problem = cronProblem(v);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

const SchedulesSchema = z
    .object({
        driftCheck: z.object({ cron, remediate: z.boolean().default(false) }).strict().optional(),
        destroy: z
            .object({
                ttlMinutes: z.number().int().min(1).max(365 * 24 * 60),
                remindMinutesBefore: z.number().int().min(0).max(30 * 24 * 60).default(60),
            })
            .strict()
            .refine((d) => d.remindMinutesBefore < d.ttlMinutes, { message: "remindMinutesBefore must be less than ttlMinutes" })
            .optional(),
    })
    .strict();

const stackName = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be a stack name of the project");
const DependencySchema = z.union([
    stackName.transform((stack) => ({ stack, run: "preview" as const })),
    z.object({ stack: stackName, outputs: z.array(z.string().min(1)).min(1).optional(), run: z.enum(["preview", "update"]).default("preview") }).strict(),
]);

const PolicySchema = z
    .object({
        stack: z.string().optional(),
        operations: z
            .object({ preview: OperationSchema.optional(), refresh: OperationSchema.optional(), update: OperationSchema.optional(), destroy: OperationSchema.optional() })
            .strict()
            .optional(),
        approvalTtlMinutes: z.number().int().min(1).max(30 * 24 * 60).optional(),
        github: z
            .object({ previewOnPullRequest: z.boolean().optional(), updateOnPush: z.boolean().optional(), branch: z.string().min(1).optional() })
            .strict()
            .optional(),
        freezeWindows: z.array(FreezeSchema).optional(),
        schedules: SchedulesSchema.optional(),
        dependsOn: z.array(DependencySchema).optional(),
    })
    .strict();

export class PolicyError extends Error {
    constructor(readonly file: string, readonly problems: string[]) {
        super(`${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "PolicyError";
    }
}

/** Parses the text of `environments/<stack>.yaml`; every problem names its key path. */
export function parsePolicy(stack: string, text: string, file = `${stack}.yaml`): EnvironmentPolicy {
    let raw: unknown;
    try {
        raw = parseYaml(text) ?? {};
    } catch (e) {
        throw new PolicyError(file, [`not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
    }
    const parsed = PolicySchema.safeParse(raw);
    if (!parsed.success) throw new PolicyError(file, parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`));
    const p = parsed.data;
    if (p.stack !== undefined && p.stack !== stack) throw new PolicyError(file, [`stack: says "${p.stack}" but the file is for stack "${stack}"; rename the file or fix the key`]);
    const base = defaultPolicy(stack);
    const operations = { ...base.operations };
    const problems: string[] = [];
    for (const op of OPS) {
        const o = p.operations?.[op];
        if (!o) continue;
        operations[op] = { ...base.operations[op], ...o, approvers: o.approvers ?? [] };
        if (op === "preview" && operations[op].approvals > 0) problems.push("operations.preview.approvals: previews change nothing and cannot need approval; set 0");
        // A refresh has no reviewable preview an approval could bind to; restrict it by role instead.
        if (op === "refresh" && operations[op].approvals > 0) problems.push("operations.refresh.approvals: a refresh cannot be bound to an approved preview; set 0 and restrict it with operations.refresh.role");
    }
    const github = { ...base.github, previewOnPullRequest: true, ...p.github };
    if (github.updateOnPush && operations.update.approvals > 0) {
        problems.push("github.updateOnPush: cannot be true while operations.update.approvals > 0 (a push cannot carry an approval)");
    }
    const schedules = (p.schedules ?? {}) as Schedules;
    // A scheduled destroy runs unattended: there is no reviewed preview an approval could bind to.
    if (schedules.destroy && operations.destroy.approvals > 0) {
        problems.push("schedules.destroy: cannot run while operations.destroy.approvals > 0 (nobody is there to approve); set it to 0 for this ephemeral stack or drop the schedule");
    }
    const dependsOn = (p.dependsOn ?? []) as Dependency[];
    for (const [i, d] of dependsOn.entries()) {
        if (d.stack === stack) problems.push(`dependsOn.${i}: "${stack}" cannot depend on itself`);
        if (dependsOn.findIndex((x) => x.stack === d.stack) !== i) problems.push(`dependsOn.${i}: "${d.stack}" is listed twice`);
    }
    if (problems.length) throw new PolicyError(file, problems);
    return {
        stack,
        source: file,
        operations,
        approvalTtlMinutes: p.approvalTtlMinutes ?? base.approvalTtlMinutes,
        github,
        freezeWindows: (p.freezeWindows ?? []) as FreezeWindow[],
        schedules,
        dependsOn,
    };
}

/**
 * What is wrong with the stacks' dependencies taken together: a cycle, which would have stacks
 * trigger each other forever. (A dependency on a stack this checkout has no config for is
 * inert, not wrong: that stack's changes simply never happen here.)
 */
export function dependencyProblems(policies: ReadonlyMap<string, EnvironmentPolicy>): string[] {
    const problems: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    const visit = (stack: string): string[] | undefined => {
        if (state.get(stack) === "done") return undefined;
        if (state.get(stack) === "visiting") return [...path.slice(path.indexOf(stack)), stack];
        state.set(stack, "visiting");
        path.push(stack);
        for (const d of policies.get(stack)?.dependsOn ?? []) {
            const cycle = policies.has(d.stack) ? visit(d.stack) : undefined;
            if (cycle) return cycle;
        }
        path.pop();
        state.set(stack, "done");
        return undefined;
    };
    for (const stack of [...policies.keys()].sort()) {
        const cycle = visit(stack);
        if (cycle) {
            problems.push(`dependsOn: the stacks depend on each other in a cycle (${cycle.join(" → ")}); a change would trigger them forever, so remove one of these dependencies`);
            break;
        }
    }
    return problems;
}

export interface LoadedPolicies {
    policies: Map<string, EnvironmentPolicy>;
    /** Policy files naming no stack of the project: reported at start-up, not fatal. */
    unused: string[];
}

const isPolicyFile = (f: string) => /\.ya?ml$/.test(f);

/** The policy of `stack` as `dir` says: its `<stack>.yaml`/`.yml`, else the default. */
function readPolicy(dir: string, files: readonly string[], stack: string): EnvironmentPolicy {
    const file = files.find((f) => f === `${stack}.yaml` || f === `${stack}.yml`);
    if (!file) return defaultPolicy(stack);
    const full = path.join(dir, file);
    return parsePolicy(stack, fs.readFileSync(full, "utf8"), full);
}

const policyFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter(isPolicyFile).sort() : []);

/**
 * Reads the policies of `stacks` from `dir` (`<stack>.yaml` or `.yml`), using the default for
 * stacks without a file. Throws one PolicyError listing every bad file, so start-up fails
 * with all problems at once.
 */
export function loadPolicies(dir: string, stacks: readonly string[]): LoadedPolicies {
    const policies = new Map<string, EnvironmentPolicy>();
    const problems: string[] = [];
    const files = policyFiles(dir);
    const unused = files.filter((f) => !stacks.includes(f.replace(/\.ya?ml$/, ""))).map((f) => path.join(dir, f));
    for (const stack of stacks) {
        try {
            policies.set(stack, readPolicy(dir, files, stack));
        } catch (e) {
            if (e instanceof PolicyError) problems.push(e.message);
            else throw e;
        }
    }
    if (!problems.length) problems.push(...dependencyProblems(policies));
    if (problems.length) throw new PolicyError(dir, problems);
    return { policies, unused };
}

export const policyInvalid = (stack: string, error: PolicyError) =>
    new AppError("POLICY_INVALID", 503, `The policy file of "${stack}" does not validate, and no valid version of it was loaded before; nothing runs on "${stack}" until it is fixed. ${error.message}`, {
        stack,
        file: error.file,
        problems: error.problems,
    });

export interface PolicySetOptions {
    /** Called once per change of the files that does not validate, with every problem. */
    onInvalid?: (error: PolicyError) => void;
    /** Called after a change of the files was read and every policy validated. */
    onReload?: (dir: string) => void;
}

/**
 * The environment policies as their files say now. Built at start-up, where any bad file stops
 * the service; afterwards every lookup compares the directory (file names, sizes, mtimes) and
 * the stack list with the last read and re-reads on a change, so a freeze window, a new
 * approver or a new stack's policy applies without a restart. A file edited into something
 * invalid keeps its stack on the file's last valid version (and is reported); a stack whose
 * file has never validated refuses everything with 503 POLICY_INVALID rather than fall back to
 * the permissive default.
 */
export class PolicySet {
    private readonly current = new Map<string, EnvironmentPolicy | PolicyError>();
    private stamp: string;
    /** Policy files naming no stack of the project at start-up. */
    readonly unused: string[];

    constructor(
        readonly dir: string,
        private readonly stacks: () => string[],
        private readonly options: PolicySetOptions = {},
    ) {
        const current = stacks();
        // Stamp before reading: an edit landing between the two is then seen at the next lookup.
        this.stamp = this.snapshot(current).stamp;
        const { policies, unused } = loadPolicies(dir, current);
        for (const [stack, policy] of policies) this.current.set(stack, policy);
        this.unused = unused;
    }

    /** The policy files now, and a stamp of them (names, sizes, mtimes) and of the stack list. */
    private snapshot(stacks: readonly string[]): { files: string[]; stamp: string } {
        const files = policyFiles(this.dir);
        const stats = files.map((f) => {
            const st = fs.statSync(path.join(this.dir, f), { throwIfNoEntry: false });
            return `${f}:${st?.size}:${st?.mtimeMs}`;
        });
        return { files, stamp: [stacks.join(","), ...stats].join("|") };
    }

    private refresh(): void {
        const stacks = this.stacks();
        const { files, stamp } = this.snapshot(stacks);
        if (stamp === this.stamp) return;
        this.stamp = stamp;
        const problems: string[] = [];
        const before = new Map(this.current);
        for (const stack of stacks) {
            try {
                this.current.set(stack, readPolicy(this.dir, files, stack));
            } catch (e) {
                if (!(e instanceof PolicyError)) throw e;
                problems.push(e.message);
                const last = this.current.get(stack);
                // Only a version a file said is "last valid"; a default never stands in for a broken file.
                if (last === undefined || last instanceof PolicyError || last.source === "default") this.current.set(stack, e);
            }
        }
        const valid = new Map([...this.current].filter((e): e is [string, EnvironmentPolicy] => !(e[1] instanceof PolicyError)));
        const graph = dependencyProblems(valid);
        if (graph.length) {
            // An edit that makes a cycle or names a missing stack is refused as a whole: every stack keeps what it had.
            problems.push(...graph);
            for (const stack of stacks) this.current.set(stack, before.get(stack) ?? new PolicyError(this.dir, graph));
        }
        if (problems.length) this.options.onInvalid?.(new PolicyError(this.dir, problems));
        else this.options.onReload?.(this.dir);
    }

    /**
     * The stack's policy now, or undefined where `get` would throw: for what the service decides
     * on its own (schedules, dependencies, plans by default), where an invalid policy means
     * "nothing", since every operation on that stack is refused at admission anyway.
     */
    valid(stack: string): EnvironmentPolicy | undefined {
        try {
            return this.get(stack);
        } catch (e) {
            if (e instanceof AppError) return undefined;
            throw e;
        }
    }

    /** The stack's policy now; throws 503 POLICY_INVALID for a stack whose file never validated. */
    get(stack: string): EnvironmentPolicy {
        this.refresh();
        const policy = this.current.get(stack) ?? defaultPolicy(stack);
        if (policy instanceof PolicyError) throw policyInvalid(stack, policy);
        return policy;
    }
}

/**
 * The policy in words, for people: "updates: operator, 1 approval by an approver; destroys:
 * admin, 1 approval by an approver; 2 freeze windows". What the dashboard shows beside a stack.
 */
export function describePolicy(p: EnvironmentPolicy): string {
    const parts = (["update", "destroy"] as const).map((op) => {
        const rule = p.operations[op];
        const who = rule.approvers.length ? `${rule.approvers.join(" or ")}` : `an ${rule.approverRole}`.replace(/^an ([^aeiou])/, "a $1");
        const approvals = rule.approvals > 0 ? `, ${rule.approvals} approval${rule.approvals === 1 ? "" : "s"} by ${who}` : ", no approval";
        return `${op}s: ${rule.role}${approvals}`;
    });
    if (p.freezeWindows.length) parts.push(`${p.freezeWindows.length} freeze window${p.freezeWindows.length === 1 ? "" : "s"}`);
    if (p.github.updateOnPush) parts.push(`updated on pushes to ${p.github.branch}`);
    if (p.dependsOn.length) parts.push(`follows ${p.dependsOn.map((d) => `${d.stack} (${d.run})`).join(", ")}`);
    const { driftCheck, destroy } = p.schedules;
    if (driftCheck) parts.push(`drift check ${driftCheck.cron} UTC${driftCheck.remediate ? ", remediated" : ""}`);
    if (destroy) parts.push(`destroyed ${destroy.ttlMinutes} min after its last update`);
    return parts.join("; ");
}
