import { fork } from "node:child_process";
import * as path from "node:path";
import type { ParentMessage, WorkerMessage, WorkerSpec } from "./protocol";

export type { WorkerSpec } from "./protocol";

export type WorkerOutcome =
    | { kind: "succeeded"; outputs?: Record<string, unknown> }
    | { kind: "failed"; name: string; message: string }
    /** The process ended without reporting: killed, crashed, or out of memory. */
    | { kind: "crashed"; code: number | null; signal: NodeJS.Signals | null };

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

/**
 * Forks the worker for one job in its own process group (`detached`), so the group can be
 * killed as one without touching the service. The worker is TypeScript with only type imports
 * of this project, so Node's type stripping runs it without a compiler in the way.
 */
export const startWorker: StartWorker = (spec, env, handlers) => {
    const child = fork(WORKER_ENTRY, [], {
        detached: true,
        env,
        execArgv: ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON"],
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        serialization: "json",
    });
    let reported: WorkerOutcome | undefined;
    child.on("message", (m: WorkerMessage) => {
        switch (m.type) {
            case "secrets":
                handlers.onSecrets(m.values);
                break;
            case "event":
                handlers.onEvent(m.event);
                break;
            case "output":
                handlers.onOutput(m.line);
                break;
            case "result":
                reported = { kind: "succeeded", outputs: m.outputs };
                break;
            case "error":
                reported = { kind: "failed", name: m.name, message: m.message };
                break;
        }
    });
    // Anything the worker or its children print outside the protocol is still log material.
    const toLog = (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) handlers.onOutput(line);
    };
    child.stdout?.on("data", toLog);
    child.stderr?.on("data", toLog);
    const done = new Promise<WorkerOutcome>((resolve) => {
        child.on("exit", (code, signal) => resolve(reported ?? { kind: "crashed", code, signal }));
        child.on("error", () => resolve(reported ?? { kind: "crashed", code: null, signal: null }));
    });
    const post = (m: ParentMessage) => {
        if (child.connected) child.send(m);
    };
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
        kill: () => {
            try {
                if (child.pid) process.kill(-child.pid, "SIGKILL");
            } catch {
                /* group already gone */
            }
        },
        done,
    };
};
