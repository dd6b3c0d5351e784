// Test seam for the infra tests: evaluate a stack or a one-component program in a fresh process
// under Pulumi's mocks (scripts/offline/evaluate.ts) and query what it declared.
import * as assert from "node:assert/strict";
import {
    EvaluatedResource, Evaluation, EvaluateOptions, evaluateProgram as evaluateProgramRaw, evaluateStackFull,
} from "../../scripts/offline/evaluate";

export type { EvaluatedResource } from "../../scripts/offline/evaluate";

export interface Evaluated extends Evaluation {
    /** Every resource of `type`, in registration order. */
    byType(type: string): EvaluatedResource[];
    /** The resource of `type` named `name`; fails the test, listing the names there are, when absent. */
    one(type: string, name: string): EvaluatedResource;
    /** True when `inputs.<path>` of the resource is a Pulumi secret (or lies inside one). */
    isSecret(resource: EvaluatedResource, path: string): boolean;
}

function wrap(e: Evaluation): Evaluated {
    const byType = (type: string) => e.resources.filter((r) => r.type === type);
    return {
        ...e,
        byType,
        one(type, name) {
            const r = e.resources.find((x) => x.type === type && x.name === name);
            assert.ok(r, `no ${type} named ${name}; have [${byType(type).map((x) => x.name).join(", ")}]`);
            return r;
        },
        isSecret: (r, p) => (r.secretPaths ?? []).some((s) => p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`)),
    };
}

/** The real program as `stack` (Pulumi.<stack>.yaml + `config` overrides). */
export async function evaluateStack(stack: string, opts: EvaluateOptions = {}): Promise<Evaluated> {
    return wrap(await evaluateStackFull(stack, opts));
}

/** `exportName()` of a test program module, as `stack` with exactly `config`. */
export async function evaluateProgram(modulePath: string, exportName: string, opts: EvaluateOptions & { stack?: string } = {}): Promise<Evaluated> {
    return wrap(await evaluateProgramRaw(modulePath, exportName, opts));
}

/**
 * How long a `before` may wait for its evaluation: evaluations queue (one per CPU) behind those
 * other files started early, and a machine shared by many engineers makes each one slow.
 */
export const EVALUATION_WAIT_MS = 240_000;

/**
 * Wraps an evaluation a test file starts at its top level with `{ background: true }`, as mocha
 * loads it: the child processes of all files then run (one per CPU, see evaluate.ts) while
 * earlier files test. The file's `before` asks for the same evaluation again without
 * `background`, which shares the running one and moves it ahead of other files' early starts.
 * A failure surfaces there, not as an unhandled rejection at load.
 */
export function startEarly<T>(evaluation: Promise<T>): Promise<T> {
    evaluation.catch(() => undefined);
    return evaluation;
}

/** Parses an IAM policy input (JSON text or object). */
export function policyDoc(value: unknown): { Version?: string; Statement: Array<Record<string, any>> } {
    return (typeof value === "string" ? JSON.parse(value) : value) as { Statement: Array<Record<string, any>> };
}
