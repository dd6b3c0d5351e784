import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { ServiceConfig } from "../config";
import * as path from "node:path";
import { makeDirs } from "../lib/dirs";

/**
 * Makes the data dir private to the service's user: the directory 0700 and every file in it
 * (tokens, stores, passphrase, audit log) 0600, whoever created them first (`npm run token`
 * under a umask of 022 makes them readable by all). Returns what had to be tightened, for the log.
 */
export function secureDataDir(dir: string): string[] {
    makeDirs(dir, 0o700);
    const fixed: string[] = [];
    const tighten = (p: string, mode: number) => {
        const st = fs.lstatSync(p);
        if (st.isSymbolicLink() || (st.mode & 0o777) === mode) return;
        fs.chmodSync(p, mode);
        fixed.push(path.relative(dir, p) || ".");
    };
    tighten(dir, 0o700);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isFile()) tighten(path.join(dir, entry.name), 0o600);
        else if (entry.isDirectory()) tighten(path.join(dir, entry.name), 0o700);
    }
    return fixed;
}

/**
 * The passphrase of the embedded default: the configured one, else one generated on first
 * start and kept beside the state (mode 0600) so the stacks stay decryptable across restarts.
 */
export function ensurePassphrase(config: ServiceConfig): string {
    if (config.passphrase) return config.passphrase;
    const file = path.join(config.dataDir, "passphrase");
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
    makeDirs(config.dataDir, 0o700);
    const passphrase = randomBytes(32).toString("base64url");
    fs.writeFileSync(file, passphrase + "\n", { mode: 0o600, flag: "wx" });
    return passphrase;
}

/** Whether `dir` can be written (for /readyz), and why not. */
export function probeWritable(dir: string): { ok: boolean; detail?: string } {
    try {
        makeDirs(dir);
        const probe = path.join(dir, `.ready-${process.pid}`);
        fs.writeFileSync(probe, "ok");
        fs.rmSync(probe);
        return { ok: true };
    } catch (e) {
        return { ok: false, detail: `cannot write ${dir}: ${(e as NodeJS.ErrnoException).code ?? "error"}` };
    }
}
