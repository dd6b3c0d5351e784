/**
 * Where and how the Pulumi CLI's `s3://` backend (gocloud.dev's s3blob, CLI v3.259) reaches its
 * bucket, read from the backend URL exactly as the CLI reads it, so that the service looks at
 * the objects the CLI writes. Only what changes where requests go or how they are signed is
 * kept; write-only settings (`ssetype`, `kmskeyid`) do not matter for reading and deleting locks.
 */
export interface S3BackendSettings {
    bucket: string;
    /** Prepended to every key: `?prefix=` as given, then the URL's path with a trailing `/` (the CLI applies both). */
    keyPrefix: string;
    region?: string;
    /** A custom endpoint (an S3-compatible server), always with its scheme. */
    endpoint?: string;
    forcePathStyle: boolean;
    /** `disable_https`/`disableSSL` without an endpoint: AWS's own endpoints over plain HTTP. */
    tls: boolean;
    profile?: string;
    /** Assumed (STS) on top of the default credentials, as the CLI does with `role=`. */
    roleArn?: string;
    anonymous: boolean;
    useDualstackEndpoint: boolean;
    useFipsEndpoint: boolean;
    useAccelerateEndpoint: boolean;
    requestChecksumCalculation?: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
    responseChecksumValidation?: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
}

/** A backend URL the CLI would refuse, or one the service cannot follow; the message names the setting. */
export class S3BackendUrlError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "S3BackendUrlError";
    }
}

/** Query parameters the CLI accepts and that change nothing for reading and deleting locks. */
const IGNORED = new Set(["ssetype", "kmskeyid", "awssdk", "rate_limiter_capacity"]);

/** Go's strconv.ParseBool, which the CLI uses for every boolean parameter. */
function goBool(name: string, value: string): boolean {
    if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
    throw new S3BackendUrlError(`PULUMI_BACKEND_URL: \`${name}\` must be true or false (got "${value}")`);
}

function checksumMode(name: string, value: string): "WHEN_SUPPORTED" | "WHEN_REQUIRED" {
    if (value === "when_supported") return "WHEN_SUPPORTED";
    if (value === "when_required") return "WHEN_REQUIRED";
    throw new S3BackendUrlError(`PULUMI_BACKEND_URL: \`${name}\` must be when_supported or when_required (got "${value}")`);
}

/**
 * Parses an `s3://bucket[/path]?query` backend URL into the settings an S3 client needs to see
 * the same objects as the CLI. Mirrors the CLI: its translation of the AWS SDK v1 parameters
 * (`disableSSL`, a scheme-less `endpoint`), gocloud's `prefix`, and the bucket sub-directory
 * the CLI makes of the URL's path. Throws S3BackendUrlError naming the parameter for anything
 * the CLI would refuse (an unknown parameter, a bad boolean) or that cannot be a state backend.
 */
export function parseS3BackendUrl(backendUrl: string): S3BackendSettings {
    let u: URL;
    try {
        u = new URL(backendUrl);
    } catch {
        throw new S3BackendUrlError(`PULUMI_BACKEND_URL: not a URL; an S3 backend looks like s3://bucket or s3://bucket/prefix?region=eu-west-1`);
    }
    if (u.protocol !== "s3:") throw new S3BackendUrlError(`PULUMI_BACKEND_URL: an S3 backend URL starts with s3:// (got ${u.protocol}//)`);
    if (u.username || u.password) throw new S3BackendUrlError("PULUMI_BACKEND_URL: an s3:// URL carries no credentials; give them as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role");
    if (u.port) throw new S3BackendUrlError(`PULUMI_BACKEND_URL: the bucket name cannot have a port (got "${u.host}"); an S3-compatible server's address goes in \`endpoint=\``);
    const bucket = u.hostname;
    if (!bucket) throw new S3BackendUrlError("PULUMI_BACKEND_URL: the bucket is missing; write s3://<bucket>");

    // The first value of each parameter, as gocloud reads them.
    const q = new Map<string, string>();
    for (const [k, v] of u.searchParams) if (!q.has(k)) q.set(k, v);
    const take = (k: string) => {
        const v = q.get(k);
        q.delete(k);
        return v;
    };
    const flag = (k: string) => {
        const v = take(k);
        return v === undefined || v === "" ? undefined : goBool(k, v);
    };

    if (q.has("key")) throw new S3BackendUrlError("PULUMI_BACKEND_URL: `key` makes the bucket a single object, which cannot hold a state backend; use `prefix=` or a path (s3://bucket/path) instead");
    const prefixParam = take("prefix") ?? "";
    let subDir = decodeURIComponent(u.pathname).replace(/^\/+/, "");
    if (subDir && !subDir.endsWith("/")) subDir += "/";

    // The CLI's translation of AWS SDK v1 parameters: disableSSL is disable_https, and a bare endpoint gets a scheme.
    const legacyNoTls = flag("disableSSL");
    const noTls = flag("disable_https") ?? legacyNoTls ?? false;
    let endpoint = take("endpoint") || undefined;
    if (endpoint !== undefined) {
        if (!endpoint.includes("://")) endpoint = `${legacyNoTls ? "http" : "https"}://${endpoint}`;
        // The Go SDK sends a custom endpoint over HTTP when disable_https is set, whatever its scheme says.
        if (noTls) endpoint = endpoint.replace(/^https:\/\//, "http://");
        try {
            new URL(endpoint);
        } catch {
            throw new S3BackendUrlError(`PULUMI_BACKEND_URL: \`endpoint\` must be a server address such as http://127.0.0.1:9000 or minio.internal:9000 (got "${endpoint}")`);
        }
    }
    const pathStyle = flag("use_path_style") ?? flag("s3ForcePathStyle");
    // A custom endpoint taken as it is: the bucket then goes in the path.
    const hostnameImmutable = flag("hostname_immutable") ?? false;
    const role = take("role");
    if (role !== undefined && !role.startsWith("arn:")) throw new S3BackendUrlError(`PULUMI_BACKEND_URL: \`role\` must be a role ARN (arn:aws:iam::<account>:role/<name>; got "${role}")`);
    const requestChecksum = take("request_checksum_calculation");
    const responseChecksum = take("response_checksum_validation");
    const region = take("region") || undefined;
    const profile = take("profile") || undefined;
    const settings: S3BackendSettings = {
        bucket,
        keyPrefix: prefixParam + subDir,
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        forcePathStyle: pathStyle ?? (hostnameImmutable && endpoint !== undefined),
        tls: !(noTls && endpoint === undefined),
        ...(profile ? { profile } : {}),
        ...(role ? { roleArn: role } : {}),
        anonymous: flag("anonymous") ?? false,
        useDualstackEndpoint: flag("dualstack") ?? false,
        useFipsEndpoint: flag("fips") ?? false,
        useAccelerateEndpoint: flag("accelerate") ?? false,
        ...(requestChecksum ? { requestChecksumCalculation: checksumMode("request_checksum_calculation", requestChecksum) } : {}),
        ...(responseChecksum ? { responseChecksumValidation: checksumMode("response_checksum_validation", responseChecksum) } : {}),
    };
    const capacity = take("rate_limiter_capacity");
    if (capacity !== undefined && !/^\d+$/.test(capacity)) throw new S3BackendUrlError(`PULUMI_BACKEND_URL: \`rate_limiter_capacity\` must be a whole number (got "${capacity}")`);
    for (const k of IGNORED) q.delete(k);
    const unknown = [...q.keys()];
    if (unknown.length) {
        throw new S3BackendUrlError(
            `PULUMI_BACKEND_URL: unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `\`${k}\``).join(", ")} (the Pulumi CLI refuses ${unknown.length > 1 ? "them" : "it"} too); the CLI's S3 backend takes region, endpoint, use_path_style (s3ForcePathStyle), disable_https (disableSSL), prefix, profile, role, anonymous, dualstack, fips, accelerate, hostname_immutable, ssetype, kmskeyid, request_checksum_calculation, response_checksum_validation, rate_limiter_capacity, awssdk`,
        );
    }
    return settings;
}

/** The backend as error messages and audit entries name it: no query, no credentials. */
export function describeS3Backend(s: S3BackendSettings): string {
    return `s3://${s.bucket}/${s.keyPrefix}${s.endpoint ? ` at ${s.endpoint}` : ""}`;
}

/** Where the CLI keeps a stack's locks in the bucket (project-scoped layout, as on the file backend). */
export function s3LockPrefix(s: S3BackendSettings, project: string, stack: string): string {
    return `${s.keyPrefix}.pulumi/locks/organization/${project}/${stack}/`;
}
