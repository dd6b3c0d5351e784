// A throwaway PostgreSQL server for a test file (scripts/postgres.sh): a fresh cluster in a
// temporary directory, on a free port, stopped and removed by `stop()`.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "postgres.sh");

export interface TestPostgres {
    /** `postgres://automation@127.0.0.1:<port>/automation` */
    url: string;
    port: number;
    /** The directory of the server's unix socket (`.s.PGSQL.<port>`), trust-authenticated like its TCP port. */
    socketDir: string;
    /** Creates an empty database on the server and returns its URL: a fresh store per test. */
    newDatabase(): Promise<string>;
    /** Stops the server and keeps its data: an outage, until `resume`. */
    pause(): void;
    /** Starts it again on the same port and socket. */
    resume(): void;
    stop(): void;
}

/**
 * `socketDir` puts the server's unix socket elsewhere than its cluster directory, e.g. outside
 * /tmp, where a system's own PostgreSQL keeps it (/run/postgresql).
 */
export function startPostgres(opts: { socketDir?: string; options?: string } = {}): TestPostgres {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "pg-"));
    const dir = path.join(root, "cluster");
    const socketDir = opts.socketDir ?? dir;
    const url = execFileSync("bash", [SCRIPT, "start", dir], { encoding: "utf8", timeout: 120_000, env: { ...process.env, PG_SOCKET_DIR: socketDir, PG_OPTIONS: opts.options ?? "" } }).trim();
    let databases = 0;
    return {
        url,
        port: Number(new URL(url).port),
        socketDir,
        async newDatabase() {
            const name = `test_${++databases}`;
            const admin = new Client({ connectionString: url });
            await admin.connect();
            try {
                await admin.query(`CREATE DATABASE ${name}`);
            } finally {
                await admin.end();
            }
            const fresh = new URL(url);
            fresh.pathname = `/${name}`;
            return fresh.toString();
        },
        pause() {
            execFileSync("bash", [SCRIPT, "pause", dir], { timeout: 60_000 });
        },
        resume() {
            execFileSync("bash", [SCRIPT, "resume", dir], { timeout: 120_000 });
        },
        stop() {
            execFileSync("bash", [SCRIPT, "stop", dir], { timeout: 60_000 });
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
