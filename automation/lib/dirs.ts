import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `fs.mkdirSync(dir, { recursive: true, mode })`, one level at a time. Node's recursive mkdir
 * never returns under /proc or /sys (each mkdir there fails with ENOENT, which it takes for a
 * missing parent and retries): a data dir or file backend configured there hung the start and
 * /readyz instead of failing with the directory's error. Here the first level that cannot be
 * made throws.
 */
export function makeDirs(dir: string, mode?: number): void {
    const missing: string[] = [];
    for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
        missing.unshift(d);
        if (path.dirname(d) === d) break;
    }
    // Something that is not a directory stands there: mkdir's own EEXIST says so.
    if (!missing.length && !fs.statSync(dir).isDirectory()) fs.mkdirSync(dir);
    for (const d of missing) {
        try {
            fs.mkdirSync(d, mode === undefined ? {} : { mode });
        } catch (e) {
            // Made meanwhile by someone else (another instance starting on the same data dir).
            if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !fs.statSync(d).isDirectory()) throw e;
        }
    }
}
