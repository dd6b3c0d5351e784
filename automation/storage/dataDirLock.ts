// One process owns an embedded data dir. Its SQLite stores and its audit file are written by
// one process only: a second one started on the same dir (a second `npm start`, a supervisor
// that restarts too early) used to recover the first one's running job as "interrupted", kill
// its worker and append to the audit chain beside it. The lock is taken before anything of the
// data dir is read or recovered.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { makeDirs } from "../lib/dirs";

/** Who holds a data dir, as it wrote down when it took the lock. */
export interface LockHolder {
    pid: number;
    host: string;
    since: string;
}

export class DataDirLocked extends Error {
    constructor(
        readonly dataDir: string,
        readonly holder: LockHolder | undefined,
    ) {
        super(
            `The data dir ${dataDir} is in use by another automation service process${holder ? ` (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : ""}; ` +
                "one process owns a data dir. Stop that one first, give this one its own AUTOMATION_DATA_DIR, or share jobs between instances through AUTOMATION_DATABASE_URL.",
        );
        this.name = "DataDirLocked";
    }
}

export interface DataDirLock {
    readonly holder: LockHolder;
    release(): void;
}

/**
 * Takes the data dir's lock, or throws DataDirLocked naming its holder. The lock is SQLite's
 * exclusive lock on `<dataDir>/service.lock` (an fcntl lock on Linux), held by an open
 * connection in exclusive locking mode: the kernel drops it when the process ends however it
 * ends (SIGKILL, a crash, a power loss), so a stale lock never needs clearing, and a second
 * process cannot take it while the first lives, even paused. Who holds it is written beside it
 * in `service.lock.json`, for the refusal's message.
 */
export function lockDataDir(dataDir: string, now: () => Date = () => new Date()): DataDirLock {
    makeDirs(dataDir, 0o700);
    const file = path.join(dataDir, "service.lock");
    const info = path.join(dataDir, "service.lock.json");
    const db = new DatabaseSync(file);
    try {
        db.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY;");
        // The first write takes the exclusive lock, which exclusive mode keeps until close.
        db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at TEXT); DELETE FROM held; INSERT INTO held VALUES (datetime('now')); COMMIT;");
    } catch (e) {
        db.close();
        if (/locked|busy/i.test((e as Error).message)) {
            let holder: LockHolder | undefined;
            try {
                holder = JSON.parse(fs.readFileSync(info, "utf8")) as LockHolder;
            } catch {
                /* written a moment after the lock: unknown yet */
            }
            throw new DataDirLocked(dataDir, holder);
        }
        throw e;
    }
    fs.chmodSync(file, 0o600);
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), since: now().toISOString() };
    fs.writeFileSync(info, JSON.stringify(holder) + "\n", { mode: 0o600 });
    let released = false;
    return {
        holder,
        release() {
            if (released) return;
            released = true;
            try {
                if (JSON.parse(fs.readFileSync(info, "utf8")).pid === process.pid) fs.rmSync(info, { force: true });
            } catch {
                /* already gone */
            }
            db.close();
        },
    };
}
