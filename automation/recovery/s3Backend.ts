import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException, type S3ClientConfig } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { judgeLock, type Finding, type LockInfo, type ProcessProbe } from "./scan";
import { describeS3Backend, parseS3BackendUrl, s3LockPrefix, type S3BackendSettings } from "./s3Url";

export { describeS3Backend, parseS3BackendUrl, S3BackendUrlError, s3LockPrefix, type S3BackendSettings } from "./s3Url";

/**
 * The S3 client for these settings. Credentials come from the default chain (environment,
 * profile, container or instance role) unless the URL says otherwise. Requests time out so an
 * S3 that hangs gives an error instead of a scan that never ends.
 */
export function s3ClientConfig(s: S3BackendSettings): S3ClientConfig {
    return {
        ...(s.region ? { region: s.region } : {}),
        ...(s.endpoint ? { endpoint: s.endpoint } : {}),
        forcePathStyle: s.forcePathStyle,
        tls: s.tls,
        ...(s.profile ? { profile: s.profile } : {}),
        useDualstackEndpoint: s.useDualstackEndpoint,
        useFipsEndpoint: s.useFipsEndpoint,
        useAccelerateEndpoint: s.useAccelerateEndpoint,
        ...(s.requestChecksumCalculation ? { requestChecksumCalculation: s.requestChecksumCalculation } : {}),
        ...(s.responseChecksumValidation ? { responseChecksumValidation: s.responseChecksumValidation } : {}),
        ...(s.roleArn
            ? { credentials: fromTemporaryCredentials({ params: { RoleArn: s.roleArn, RoleSessionName: "automation-lock-inspection" }, clientConfig: s.region ? { region: s.region } : {} }) }
            : {}),
        // Unsigned requests, as gocloud's anonymous credentials send them.
        ...(s.anonymous ? { signer: { sign: async (request) => request } } : {}),
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
    } as S3ClientConfig;
}

/** The S3 backend could not be read or changed; nothing was decided from it. */
export class StateBackendError extends Error {
    constructor(
        readonly backend: string,
        readonly operation: string,
        readonly cause: unknown,
    ) {
        super(`${operation} on the state backend ${backend} failed: ${causeText(cause)}`);
        this.name = "StateBackendError";
    }
}

function causeText(e: unknown): string {
    if (e instanceof S3ServiceException) {
        const status = e.$metadata?.httpStatusCode;
        const hint =
            e.name === "AccessDenied" || status === 403
                ? " (the service's credentials need s3:ListBucket on the bucket and s3:GetObject and s3:DeleteObject on the .pulumi/locks/ keys)"
                : e.name === "NoSuchBucket"
                  ? " (the bucket does not exist: check PULUMI_BACKEND_URL)"
                  : "";
        return `${e.name}${status ? ` (HTTP ${status})` : ""}${hint}`;
    }
    const err = e as { name?: string; code?: string; message?: string };
    return [err.code ?? err.name, err.message].filter(Boolean).join(": ") || String(e);
}

/** True for S3's "no such key": a lock released between the listing and the read. */
const isNoSuchKey = (e: unknown) => e instanceof S3ServiceException && (e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404);

/**
 * Reads the locks of one stack from an S3 backend and judges them as the file backend's are
 * (`judgeLock`): a lock is stale only when written on this host by a pid that is gone or was
 * reused. With `clearStale` a stale lock is deleted by its key. Any failure to reach S3 (other
 * than a lock that vanished meanwhile) throws StateBackendError: a lock that could not be
 * read is never taken for an absent one.
 */
export async function scanS3Locks(backendUrl: string, project: string, stack: string, opts: { probe: ProcessProbe; clearStale: boolean }): Promise<Finding[]> {
    const settings = parseS3BackendUrl(backendUrl);
    const backend = describeS3Backend(settings);
    const client = new S3Client(s3ClientConfig(settings));
    try {
        const prefix = s3LockPrefix(settings, project, stack);
        const keys: string[] = [];
        let token: string | undefined;
        do {
            const page = await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })).catch((e: unknown) => {
                throw new StateBackendError(backend, `Listing the locks of "${stack}" (${prefix})`, e);
            });
            for (const o of page.Contents ?? []) if (o.Key?.endsWith(".json") && !o.Key.slice(prefix.length).includes("/")) keys.push(o.Key);
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);

        const findings: Finding[] = [];
        for (const key of keys.sort()) {
            let text: string;
            try {
                const obj = await client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }));
                text = (await obj.Body?.transformToString("utf8")) ?? "";
            } catch (e) {
                if (isNoSuchKey(e)) continue; // released since the listing: no lock to judge
                throw new StateBackendError(backend, `Reading the lock ${key}`, e);
            }
            const lock = parseLock(key, text);
            if (!lock) {
                findings.push({ kind: "unreadable-lock", file: key });
                continue;
            }
            const verdict = judgeLock(lock, opts.probe);
            if (verdict === "stale") {
                if (opts.clearStale) {
                    await client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: key })).catch((e: unknown) => {
                        throw new StateBackendError(backend, `Deleting the stale lock ${key}`, e);
                    });
                }
                findings.push({ kind: "stale-lock", lock, cleared: opts.clearStale });
            } else if (verdict === "live") findings.push({ kind: "live-lock", lock });
            else findings.push({ kind: "foreign-lock", lock });
        }
        return findings;
    } finally {
        client.destroy();
    }
}

/** A lock object's content as the CLI writes it (`{"pid","username","hostname","timestamp"}`); undefined if it is not one. */
export function parseLock(key: string, text: string): LockInfo | undefined {
    try {
        const raw = JSON.parse(text) as Partial<LockInfo>;
        if (typeof raw.pid !== "number" || typeof raw.hostname !== "string") return undefined;
        return { file: key, pid: raw.pid, username: String(raw.username ?? ""), hostname: raw.hostname, timestamp: String(raw.timestamp ?? "") };
    } catch {
        return undefined;
    }
}
