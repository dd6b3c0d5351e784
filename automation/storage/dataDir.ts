import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Makes the data dir private to the service's user: the directory 0700 and every file in it
 * (tokens, stores, passphrase, audit log) 0600, whoever created them first (`npm run token`
 * under a umask of 022 makes them readable by all). Returns what had to be tightened, for the log.
 */
export function secureDataDir(dir: string): string[] {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
