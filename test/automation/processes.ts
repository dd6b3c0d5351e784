// Processes a test starts outside the service's workers (a CLI it kills on purpose, for one)
// leave children the kill does not reach: the CLI starts its language host and providers in
// process groups of their own. Tagging their environment finds them wherever they end up.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";

/** An environment variable to give every process a test starts, and the way to end them all. */
export function processTag(): { env: Record<string, string>; running(): number[]; killAll(): void } {
    const value = randomUUID();
    const needle = Buffer.from(`TEST_PROCESS_TAG=${value}\0`);
    const running = () =>
        fs.readdirSync("/proc").flatMap((p) => {
            if (!/^\d+$/.test(p) || Number(p) === process.pid) return [];
            try {
                return fs.readFileSync(`/proc/${p}/environ`).includes(needle) ? [Number(p)] : [];
            } catch {
                return [];
            }
        });
    return {
        env: { TEST_PROCESS_TAG: value },
        running,
        killAll() {
            for (const pid of running()) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone meanwhile */
                }
            }
        },
    };
}
