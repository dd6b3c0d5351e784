import { Client } from "pg";
import { judgeLock, type Finding, type LockInfo, type ProcessProbe } from "./scan";

/**
 * Pulumi's `postgres://` state backend keeps what the file backend keeps in files as rows of one
 * table (`pulumi_state`: key, data json holding `{"data": "<the file's bytes, base64>"}`), under the same keys (`<db>/.pulumi/locks/organization/
 * <project>/<stack>/<id>.json`, `<db>/.pulumi/stacks/<project>/<stack>.json`). The locks are read
 * and judged here as the file backend's are, and a proven-stale one is deleted by its key; the
 * pending operations come from the CLI's export, as for any backend (recovery/service.ts).
 */
export async function scanPostgresLocks(backendUrl: string, project: string, stack: string, opts: { probe: ProcessProbe; clearStale: boolean }): Promise<Finding[]> {
    const client = new Client({ connectionString: withoutPulumiParams(backendUrl) });
    // A connection cut meanwhile rejects the query; without a listener it would also crash the process.
    client.on("error", () => undefined);
    await client.connect();
    try {
        const exists = await client.query("SELECT to_regclass('pulumi_state') AS t");
        if (!exists.rows[0].t) return [];
        const suffix = `.pulumi/locks/organization/${project}/${stack}/`;
        const { rows } = await client.query<{ key: string; data: string }>(
            "SELECT key, data::text AS data FROM pulumi_state WHERE (key LIKE $1 OR key LIKE $2) AND key LIKE '%.json' ORDER BY key",
            [`%/${escapeLike(suffix)}%`, `${escapeLike(suffix)}%`],
        );
        const findings: Finding[] = [];
        for (const row of rows) {
            let lock: LockInfo | undefined;
            try {
                const raw = JSON.parse(blobText(row.data)) as Partial<LockInfo>;
                if (typeof raw.pid === "number" && typeof raw.hostname === "string") {
                    lock = { file: row.key, pid: raw.pid, username: String(raw.username ?? ""), hostname: raw.hostname, timestamp: String(raw.timestamp ?? "") };
                }
            } catch {
                /* reported below */
            }
            if (!lock) {
                findings.push({ kind: "unreadable-lock", file: row.key });
                continue;
            }
            const verdict = judgeLock(lock, opts.probe);
            if (verdict === "stale") {
                if (opts.clearStale) await client.query("DELETE FROM pulumi_state WHERE key = $1", [row.key]);
                findings.push({ kind: "stale-lock", lock, cleared: opts.clearStale });
            } else if (verdict === "live") findings.push({ kind: "live-lock", lock });
            else findings.push({ kind: "foreign-lock", lock });
        }
        return findings;
    } finally {
        await client.end();
    }
}

/** The bytes of one blob row, as text. */
export function blobText(data: string): string {
    const blob = JSON.parse(data) as { data?: unknown };
    return typeof blob.data === "string" ? Buffer.from(blob.data, "base64").toString("utf8") : "";
}

/** The backend URL as node-postgres takes it (Pulumi's own query parameters dropped). */
export function withoutPulumiParams(url: string): string {
    const u = new URL(url);
    for (const p of [...u.searchParams.keys()]) if (p !== "sslmode") u.searchParams.delete(p);
    if (u.searchParams.get("sslmode") === "disable") u.searchParams.delete("sslmode");
    return u.toString();
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
