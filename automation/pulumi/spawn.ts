import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isAppError } from "../errors";
import type { ParentMessage, WorkerMessage, WorkerSpec } from "./protocol";
import { prepareStackConfig } from "./stackConfig";
import { knownCliVersion } from "./stacks";

export type { WorkerSpec } from "./protocol";

export type WorkerOutcome =
    | { kind: "succeeded"; outputs?: Record<string, unknown> }
    | { kind: "failed"; name: string; message: string }
    /** The process ended without reporting: killed, crashed, or out of memory. */
    | { kind: "crashed"; code: number | null; signal: NodeJS.Signals | null }
    /** Nothing ran: the job's inputs were refused before the worker got it (an unsafe checkout). */
    | { kind: "refused"; code: string; message: string };

export interface WorkerHandlers {
    onSecrets(values: string[]): void;
    onEvent(event: Record<string, unknown>): void;
    onOutput(line: string): void;
}

export interface WorkerHandle {
    readonly pid: number;
    /** Graceful: asks the engine to stop after in-flight steps (one SIGINT to the CLI). */
    cancel(): void;
    /** Forced: SIGKILL to the worker's whole process group (CLI, language host, providers). */
    kill(): void;
    readonly done: Promise<WorkerOutcome>;
}

export type StartWorker = (spec: WorkerSpec, env: NodeJS.ProcessEnv, handlers: WorkerHandlers) => WorkerHandle;

const WORKER_ENTRY = path.join(__dirname, "worker.ts");

/** A forked worker, possibly still idle; `run` hands it its one job. */
interface Forked {
    child: ChildProcess;
    env: NodeJS.ProcessEnv;
    pulumiBin: string;
    run(spec: WorkerSpec, handlers: WorkerHandlers): WorkerHandle;
    /** Kills the worker and everything it started. */
    kill(): void;
}

/**
 * Forks a worker in its own process group (`detached`), so the group can be killed as one
 * without touching the service. The worker is TypeScript with only type imports of this
 * project, so Node's type stripping runs it without a compiler in the way. It loads the
 * Automation API (and asks the CLI its version, unless the service knows it) at once, before
 * it has a job: that start-up is what a warm worker saves a job.
 */
/** Niceness of job processes: below the service, which must keep answering reads. */
const WORKER_NICENESS = 10;

const NODE_FLAGS = ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON"];

function forkWorker(env: NodeJS.ProcessEnv, pulumiBin: string): Forked {
    const tag = randomUUID();
    // A sandboxed job's worker runs here too, with the job's environment: only the CLI commands
    // it starts go into the sandbox (worker.ts), so the IPC channel never does.
    // The CLI's version when the service already knows it, so the worker need not ask the CLI.
    const version = knownCliVersion(pulumiBin);
    const child = fork(WORKER_ENTRY, [pulumiBin, ...(version ? [version] : [])], {
        detached: true,
        env: { ...env, [WORKER_TAG]: tag },
        execArgv: NODE_FLAGS,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        serialization: "json",
    });
    // Jobs are batch work: at a lower CPU priority (inherited by the CLI and its plugins) they
    // never make an API read wait for a core (BENCHMARKS.md: read p99 was run-queue wait).
    try {
        if (child.pid) os.setPriority(child.pid, WORKER_NICENESS);
    } catch {
        /* not permitted here: jobs run at the service's priority */
    }
    let handlers: WorkerHandlers | undefined;
    // Output before the job is bound (start-up warnings) is kept for the job's log.
    const early: string[] = [];
    let reported: WorkerOutcome | undefined;
    child.on("message", (raw: unknown) => {
        // What the worker forwards comes partly from the job (engine events the CLI wrote): a
        // message of the wrong shape is dropped, and a handler's failure stays with this job.
        const m = workerMessage(raw);
        try {
            switch (m?.type) {
                case "secrets":
                    handlers?.onSecrets(m.values);
                    break;
                case "event":
                    handlers?.onEvent(m.event);
                    break;
                case "output":
                    handlers?.onOutput(m.line);
                    break;
                case "result":
                    reported = { kind: "succeeded", outputs: m.outputs };
                    break;
                case "error":
                    reported = { kind: "failed", name: m.name, message: m.message };
                    break;
                default:
                    handlers?.onOutput("warning: the job's worker sent a message of an unknown shape; it was ignored");
            }
        } catch (err) {
            try {
                handlers?.onOutput(`warning: a message of the job's worker could not be handled (${(err as Error).message}); it was ignored`);
            } catch {
                /* the log itself failed: nothing more to say */
            }
        }
    });
    const toLog = (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n")) {
            if (!line.trim()) continue;
            if (handlers) handlers.onOutput(line);
            else if (early.length < 100) early.push(line);
        }
    };
    child.stdout?.on("data", toLog);
    child.stderr?.on("data", toLog);
    const done = new Promise<WorkerOutcome>((resolve) => {
        child.on("exit", (code, signal) => {
            // A worker that died without reporting leaves its CLI, language host and providers
            // behind in its group, holding the stack's lock; and a CLI killed under a worker that
            // reported leaves its language host reparented to init. Whatever of the job still
            // runs once its worker is gone is reaped, so the recovery scan sees a settled stack.
            killJobProcesses(child, tag);
            resolve(reported ?? { kind: "crashed", code, signal });
        });
        child.on("error", () => resolve(reported ?? { kind: "crashed", code: null, signal: null }));
    });
    const post = (m: ParentMessage) => {
        if (child.connected) child.send(m);
    };
    return {
        child,
        env,
        pulumiBin,
        kill: () => killJobProcesses(child, tag),
        run(spec, h) {
            handlers = h;
            early.splice(0).forEach((l) => h.onOutput(l));
            // Here, not in the worker: a sandboxed worker cannot see the copy earlier jobs left.
            // A copy that cannot be made (a pull request's stack file is a symlink) runs nothing.
            try {
                prepareStackConfig({ projectDir: spec.projectDir, stack: spec.stack, ...spec.stackConfig });
            } catch (err) {
                killJobProcesses(child, tag);
                const refused: WorkerOutcome = isAppError(err)
                    ? { kind: "refused", code: err.code, message: err.message }
                    : { kind: "refused", code: "STACK_CONFIG_FAILED", message: `The stack's config copy could not be written: ${(err as Error).message}` };
                return { pid: child.pid ?? -1, cancel: () => undefined, kill: () => undefined, done: Promise.resolve(refused) };
            }
            post({ type: "start", spec });
            return {
                pid: child.pid ?? -1,
                cancel: () => {
                    post({ type: "cancel" });
                    // IPC may be gone (worker busy or broken); the signal reaches it regardless.
                    try {
                        child.kill("SIGINT");
                    } catch {
                        /* already exited */
                    }
                },
                kill: () => killJobProcesses(child, tag),
                done,
            };
        },
    };
}

/**
 * Every job process carries this variable (inherited from its worker), because the process
 * group is not enough: the CLI starts its language host and providers in groups of their own,
 * and once the worker or the CLI dies they are reparented to init. Their environment is the one
 * mark they keep.
 */
const WORKER_TAG = "AUTOMATION_WORKER_TAG";

/** Live processes whose environment carries `tag` (Linux /proc; elsewhere none are found). */
function taggedProcesses(tag: string): number[] {
    const needle = Buffer.from(`${WORKER_TAG}=${tag}\0`);
    let entries: string[];
    try {
        entries = fs.readdirSync("/proc");
    } catch {
        return [];
    }
    const found: number[] = [];
    for (const entry of entries) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/environ`).includes(needle)) found.push(Number(entry));
        } catch {
            /* ended while we looked, or not ours to read */
        }
    }
    return found;
}

/** SIGKILLs the worker's group and every process it started, wherever they ended up. */
function killJobProcesses(child: ChildProcess, tag: string): void {
    killGroup(child);
    for (const pid of taggedProcesses(tag)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* already gone */
        }
    }
}

function killGroup(child: ChildProcess): void {
    try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
        /* group already gone */
    }
}

/** Starts one cold worker per job: the simplest starter, for tools and tests. */
export const startWorker: StartWorker = (spec, env, handlers) => forkWorker(env, spec.pulumiBin).run(spec, handlers);

export interface WorkerPool {
    start: StartWorker;
    /** Forks idle workers up to the pool size now, e.g. at service start. */
    prewarm(env: NodeJS.ProcessEnv, pulumiBin: string): void;
    /** Kills the idle workers (running jobs are the job service's to stop). */
    close(): void;
}

/**
 * Keeps up to `size` workers forked and initialised ahead of their jobs, so a job does not pay
 * Node's start, the Automation API's load and `pulumi version` (seconds on a busy machine).
 * Each worker still runs exactly one job; the pool refills when a job ends rather than when it
 * starts, so the refill does not compete with the starting job for the CPU.
 */
export function createWorkerPool(size: number): WorkerPool {
    const idle: Forked[] = [];
    let closed = false;
    const usable = (f: Forked) => f.child.connected && f.child.exitCode === null && f.child.signalCode === null;
    const add = (env: NodeJS.ProcessEnv, pulumiBin: string) => {
        const f = forkWorker(env, pulumiBin);
        idle.push(f);
        f.child.once("exit", () => {
            const i = idle.indexOf(f);
            if (i >= 0) idle.splice(i, 1);
        });
    };
    const prewarm = (env: NodeJS.ProcessEnv, pulumiBin: string) => {
        while (!closed && idle.filter(usable).length < size) add(env, pulumiBin);
    };
    return {
        prewarm,
        start(spec, env, handlers) {
            // A sandboxed job gets a worker of its own, with the job's environment, not a warm one.
            if (spec.sandbox) return forkWorker(env, spec.pulumiBin).run(spec, handlers);
            const i = idle.findIndex((f) => usable(f) && f.env === env && f.pulumiBin === spec.pulumiBin);
            const forked = i >= 0 ? idle.splice(i, 1)[0] : forkWorker(env, spec.pulumiBin);
            const handle = forked.run(spec, handlers);
            void handle.done.then(() => prewarm(env, spec.pulumiBin));
            return handle;
        },
        close() {
            closed = true;
            for (const f of idle.splice(0)) f.kill();
        },
    };
}

/** The environment every worker gets: the CLI and Node 22 first on PATH, backend and secrets provider. */
export function workerEnvironment(input: { base: Readonly<Record<string, string>>; pulumiBin: string; nodeBin: string; backendUrl: string; passphrase: string }): NodeJS.ProcessEnv {
    return {
        ...input.base,
        PATH: [input.pulumiBin, input.nodeBin, input.base.PATH ?? ""].join(path.delimiter),
        PULUMI_BACKEND_URL: input.backendUrl,
        PULUMI_CONFIG_PASSPHRASE: input.passphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A message from a worker, checked field by field; undefined for anything else. */
export function workerMessage(raw: unknown): WorkerMessage | undefined {
    if (!isObject(raw) || typeof raw.type !== "string") return undefined;
    switch (raw.type) {
        case "secrets":
            return Array.isArray(raw.values) && raw.values.every((v) => typeof v === "string") ? { type: "secrets", values: raw.values as string[] } : undefined;
        case "event":
            return isObject(raw.event) ? { type: "event", event: raw.event } : undefined;
        case "output":
            return typeof raw.line === "string" ? { type: "output", line: raw.line } : undefined;
        case "result":
            return raw.outputs === undefined || isObject(raw.outputs) ? { type: "result", ...(raw.outputs === undefined ? {} : { outputs: raw.outputs as Record<string, unknown> }) } : undefined;
        case "error":
            return typeof raw.name === "string" && typeof raw.message === "string" ? { type: "error", name: raw.name, message: raw.message } : undefined;
        default:
            return undefined;
    }
}
