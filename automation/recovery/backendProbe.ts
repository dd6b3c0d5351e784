import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { probeWritable } from "../storage/dataDir";
import { withoutPulumiParams } from "./postgresBackend";
import { s3ClientConfig } from "./s3Backend";
import { describeS3Backend, parseS3BackendUrl } from "./s3Url";

/** How long /readyz waits for a remote backend before calling it down. */
export const BACKEND_PROBE_TIMEOUT_MS = 5_000;

/**
 * Whether the state backend answers, for /readyz: a `file://` directory is written to; a
 * `postgres://` database answers a query; an `s3://` bucket lists its lock prefix (the one read
 * the service's own role has). The detail names the backend without credentials.
 */
export async function probeBackend(backendUrl: string): Promise<{ ok: boolean; detail?: string }> {
    if (backendUrl.startsWith("file://")) return probeWritable(backendUrl.slice("file://".length));
    if (backendUrl.startsWith("postgres://") || backendUrl.startsWith("postgresql://")) {
        const url = new URL(withoutPulumiParams(backendUrl));
        const where = `postgres://${url.host}${url.pathname}`;
        const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: BACKEND_PROBE_TIMEOUT_MS, query_timeout: BACKEND_PROBE_TIMEOUT_MS });
        client.on("error", () => undefined);
        try {
            await client.connect();
            await client.query("SELECT 1");
            return { ok: true, detail: `${where} answers` };
        } catch (e) {
            return { ok: false, detail: `${where} does not answer: ${(e as Error).message || (e as NodeJS.ErrnoException).code}` };
        } finally {
            await client.end().catch(() => undefined);
        }
    }
    if (backendUrl.startsWith("s3://")) {
        const settings = parseS3BackendUrl(backendUrl);
        const client = new S3Client({ ...s3ClientConfig(settings), maxAttempts: 1, requestHandler: { connectionTimeout: BACKEND_PROBE_TIMEOUT_MS, requestTimeout: BACKEND_PROBE_TIMEOUT_MS } });
        try {
            await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: `${settings.keyPrefix}.pulumi/locks/`, MaxKeys: 1 }));
            return { ok: true, detail: `${describeS3Backend(settings)} answers` };
        } catch (e) {
            return { ok: false, detail: `${describeS3Backend(settings)} does not answer: ${(e as Error).name}: ${(e as Error).message}` };
        } finally {
            client.destroy();
        }
    }
    return { ok: true, detail: `${backendUrl.split(":")[0]}:// backend (not probed)` };
}
