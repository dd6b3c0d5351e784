import * as fs from "node:fs";

/**
 * Whether a process of this host still runs (signal 0 checks without sending). A zombie does
 * not: it has exited and only waits to be reaped (an orphan by pid 1, which in a container may
 * do it late or never), so it holds no lock and writes nothing more.
 */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
    }
    return !exited(pid);
}

/**
 * True for a zombie (or a process being torn down), from /proc; false where /proc does not tell.
 * A process whose main thread ended while other threads run shows as a zombie too: it counts as
 * exited only with no thread left but that one.
 */
function exited(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The state follows the command name, which may itself hold spaces and parentheses.
        const state = stat.charAt(stat.lastIndexOf(")") + 2);
        if (state !== "Z" && state !== "X") return false;
        return /^Threads:\s*1$/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    } catch {
        return false;
    }
}

/**
 * Whether anything of a job still runs on this host, judged by its worker's pid: the worker
 * itself, or any process left in the worker's session. The worker is forked into a session of
 * its own; its CLI runs in its process group, and the CLI starts the language host and the
 * providers in groups of their own, still in that session. A worker that died, or is a zombie
 * under a paused service, may leave them writing the stack: the job's fence holds until they
 * are gone too. (A sandboxed preview's CLI runs in a session of its own, but bubblewrap ends
 * it with the worker, and a preview writes no state.)
 */
export function jobProcessesAlive(workerPid: number): boolean {
    return processAlive(workerPid) || sessionAlive(workerPid);
}

/** Whether a live process (not a zombie) is in session `sid` (Linux /proc; elsewhere none is found). */
function sessionAlive(sid: number): boolean {
    let entries: string[];
    try {
        entries = fs.readdirSync("/proc");
    } catch {
        return false;
    }
    for (const entry of entries) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // After the command name: state, ppid, pgrp, session, ...
            const session = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
            if (session === sid && !exited(Number(entry))) return true;
        } catch {
            /* gone meanwhile */
        }
    }
    return false;
}
