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
