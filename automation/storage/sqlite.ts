import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { makeDirs } from "../lib/dirs";

/**
 * Opens one SQLite file for the service's stores (WAL, so readers never wait for the writer).
 * `durable` makes each commit reach the disk before it returns (approvals, deliveries); the job
 * store trades that for speed, since a lost last event of a crashed job changes no decision.
 */
export function openSqlite(file: string, options: { durable?: boolean } = {}): DatabaseSync {
    if (file !== ":memory:") makeDirs(path.dirname(file), 0o700);
    const db = new DatabaseSync(file);
    // Private to the service's user whatever the umask; SQLite gives its -wal and -shm files the same mode.
    if (file !== ":memory:") fs.chmodSync(file, 0o600);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.durable ? "FULL" : "NORMAL"}; PRAGMA busy_timeout = 5000;`);
    return db;
}
