// Evaluates a stack (or one test program) of this project under Pulumi's runtime mocks, without
// AWS and without the Pulumi CLI, and returns every resource it declares with its inputs. Each
// evaluation runs in a fresh child process (child.ts): Pulumi's mocks are process-global and the
// program module is cached, so in-process evaluations would bleed into each other.
//
// Users: `npm run plan:offline`, `npm run policy:offline`, the infra tests (test/infra/harness.ts)
// and bench/infra.ts.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import type { DeclaredResource } from "../../policy/run";
import { MOCK_ACCOUNT } from "./mocks";

export const ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "todobackend";
/** A program whose outputs never resolve would otherwise keep its process forever. */
export const EVALUATION_TIMEOUT_MS = 300_000;

/** A resource as the program declared it: policy/run.ts's DeclaredResource, plus what tests need. */
export interface EvaluatedResource extends DeclaredResource {
    /** False for component resources. */
    custom?: boolean;
    /** True for resources read rather than managed (a StackReference, `Resource.get`). */
    read?: boolean;
    /** Paths into `inputs` (`environment[0].value`, `masterPassword`) whose values are Pulumi secrets. */
    secretPaths?: string[];
    /** The `protect` option as registered (Pulumi refuses to delete the resource). */
    protect?: boolean;
}

export interface Evaluation {
    resources: EvaluatedResource[];
    /** Stack outputs (or what the test program returned), resolved. */
    outputs: Record<string, unknown>;
    /** Names of outputs that are secrets. */
    secretOutputs: string[];
    /** CPU time (user + system) the evaluating process used, in ms: comparable on a busy machine, unlike wall time. */
    cpuMs?: number;
}

export interface EvaluateOptions {
    /** Config overrides, `todobackend:key` (a bare key gets the project prefix) → value. */
    config?: Record<string, string>;
    /** Outputs a StackReference sees, by referenced stack name; default: realistic delivery outputs. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Reuse an identical earlier evaluation of this process. @default true (bench/infra.ts turns it off) */
    cache?: boolean;
    /** Queue behind evaluations requested without it (a test file starting its own early). @default false */
    background?: boolean;
}

/** What the parent sends the child; internal. */
export interface ChildRequest {
    project: string;
    stack: string;
    config: Record<string, string>;
    secretKeys: string[];
    module: string;
    exportName?: string;
    outFile: string;
    stackOutputs?: Record<string, Record<string, unknown>>;
}

/** Reads `Pulumi.<stack>.yaml` as flat `project:key` → string config; refuses `secure:` values we cannot decrypt. */
export function readStackConfig(stack: string, root = ROOT): Record<string, string> {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack '${stack}': ${path.relative(root, file)} does not exist. Fix: use dev, prod or delivery, or create the file`);
    }
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (value && typeof value === "object" && "secure" in value) {
            throw new Error(`${key} in Pulumi.${stack}.yaml is an encrypted secret, which an offline evaluation cannot read. ` +
                "Fix: pass a stand-in with --config key=value");
        }
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

const qualify = (config: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${PROJECT}:${k}`, v]));

function nodeBinary(): string {
    // Node 22 from node_modules (the SDK needs it); the machine's own node may be older.
    const local = path.join(ROOT, "node_modules", ".bin", "node");
    return fs.existsSync(local) ? local : process.execPath;
}

// An evaluation is a pure function of its request, and each costs a process start and ~2 s of
// loading the AWS SDK: test files and commands in one process share the results.
const memo = new Map<string, { result: Promise<Evaluation>; ticket: Ticket }>();

function runChild(request: Omit<ChildRequest, "outFile">, opts: EvaluateOptions): Promise<Evaluation> {
    const background = opts.background ?? false;
    if (opts.cache === false) return spawnChild(request, { background }).result;
    const key = JSON.stringify(request);
    let entry = memo.get(key);
    if (!entry) {
        entry = spawnChild(request, { background });
        memo.set(key, entry);
        entry.result.catch(() => memo.delete(key));
    } else if (!background) {
        // Someone waits for it now: it no longer queues behind other files' early starts.
        entry.ticket.background = false;
    }
    // Callers may edit what they get (the policy tests do), so each gets its own copy.
    return entry.result.then((e) => structuredClone(e));
}

// At most one evaluation per CPU at a time: test files may start theirs as they load, and more
// processes than cores only add memory and context switches. Evaluations someone awaits now go
// before background ones (started early), so a file's `before` is not starved by later files.
const MAX_CONCURRENT = Math.max(1, Number(process.env.TODOBACKEND_OFFLINE_CONCURRENCY) || os.cpus().length);
interface Ticket { background: boolean; start?: () => void }
let running = 0;
const queue: Ticket[] = [];

function spawnChild(request: Omit<ChildRequest, "outFile">, ticket: Ticket): { result: Promise<Evaluation>; ticket: Ticket } {
    const result = (async () => {
        // A finishing evaluation hands its slot straight to the next ticket, so none can slip in between.
        if (running < MAX_CONCURRENT) running++;
        else await new Promise<void>((resolve) => { ticket.start = resolve; queue.push(ticket); });
        try {
            return await runInChild(request);
        } finally {
            const i = queue.findIndex((t) => !t.background);
            const [next] = queue.splice(i >= 0 ? i : 0, 1);
            if (next) next.start!();
            else running--;
        }
    })();
    return { result, ticket };
}

async function runInChild(request: Omit<ChildRequest, "outFile">): Promise<Evaluation> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "todobackend-offline-"));
    const outFile = path.join(dir, "evaluation.json");
    try {
        const stderr = await new Promise<string>((resolve) => {
            execFile(nodeBinary(), ["-r", "ts-node/register/transpile-only", path.join(__dirname, "child.ts")], {
                cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: EVALUATION_TIMEOUT_MS, killSignal: "SIGKILL",
                env: { ...process.env, TODOBACKEND_OFFLINE_REQUEST: JSON.stringify({ ...request, outFile }),
                    PULUMI_CONFIG: undefined, PULUMI_CONFIG_SECRET_KEYS: undefined, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
            }, (_err, _stdout, err) => resolve(String(err)));
        });
        if (!fs.existsSync(outFile)) {
            throw new Error(`offline evaluation of ${path.relative(ROOT, request.module)} crashed: ${stderr.trim().split("\n").slice(-15).join("\n")}`);
        }
        const result = JSON.parse(fs.readFileSync(outFile, "utf8")) as Evaluation | { error: string };
        if ("error" in result) throw new Error(result.error);
        return result;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Evaluates the real program (infra/) as `stack`, config from `Pulumi.<stack>.yaml` plus overrides. */
/**
 * Keys a production stack's file gets from AWS (scripts/bootstrap.sh pins the ECS AMI; its operator
 * sets the ACM certificate of the app's domain): until then, an offline evaluation (plan:offline,
 * policy:offline, the tests) uses the mocks' stand-ins, marked as mock values in its output (the
 * mocks' account). A value the file sets wins.
 */
export const OFFLINE_STAND_INS: Record<string, string> = { [`${PROJECT}:amiId`]: "ami-0123456789abcdef0",
    [`${PROJECT}:certificateArn`]: `arn:aws:acm:us-east-1:${MOCK_ACCOUNT}:certificate/offline-stand-in` };

export function evaluateStackFull(stack: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
    const file = readStackConfig(stack);
    const production = (qualify(opts.config)[`${PROJECT}:production`] ?? file[`${PROJECT}:production`] ?? String(stack === "prod")) === "true";
    const standIns = production && file[`${PROJECT}:role`] !== "delivery" ? OFFLINE_STAND_INS : {};
    const config = { ...standIns, ...file, ...qualify(opts.config) };
    return runChild({ project: PROJECT, stack, config, secretKeys: [], module: path.join(ROOT, "infra", "index.ts"), stackOutputs: opts.stackOutputs }, opts);
}

/**
 * The program's config errors name the stack-file fix (`pulumi config rm <key>`, `pulumi config
 * set <key> ...`). When the offending value came from a `--config` flag of this command rather
 * than from Pulumi.<stack>.yaml, the fix is to change the flag. The offline tools' commands
 * (plan:offline, policy:offline) pass their error through this; tests that set config do not.
 */
export function overrideFix(message: string, stack: string, config: Record<string, string> = {}): string {
    const overrides = qualify(config);
    return message.replace(/Fix: pulumi config (?:rm|set) (\S+)[^(]*/, (fix, key: string) => {
        if (!(key in overrides)) return fix;
        const inFile = key in readStackConfig(stack);
        return `Fix: change or drop \`--config ${key}=${overrides[key]}\` on this command` +
            (inFile ? ` (Pulumi.${stack}.yaml sets ${key} too; the flag overrides it) ` : ` (Pulumi.${stack}.yaml does not set ${key}) `);
    });
}

/**
 * Evaluates `exportName()` of `modulePath` (a small program that builds one component and returns
 * what it wants to inspect) as stack `stack` with exactly `config` — no stack file is read.
 */
export function evaluateProgram(modulePath: string, exportName: string, opts: EvaluateOptions & { stack?: string } = {}): Promise<Evaluation> {
    return runChild({ project: PROJECT, stack: opts.stack ?? "dev", config: qualify(opts.config), secretKeys: [],
        module: path.resolve(modulePath), exportName, stackOutputs: opts.stackOutputs }, opts);
}

/** The resources `stack` declares: what `npm run policy:offline` checks. */
export async function evaluateStack(stack: string, opts: { config?: Record<string, string> } = {}): Promise<EvaluatedResource[]> {
    return (await evaluateStackFull(stack, opts)).resources;
}
