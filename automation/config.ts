import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import { loadDestinations, type Destination } from "./notifications/destinations";
import { parseDuration } from "./jobs/retention";
import { findBwrap } from "./pulumi/sandbox";
import { AWS_CREDENTIAL_VARIABLES, parseStackRoles, type StackRoles } from "./pulumi/stackRoles";
import { parseS3BackendUrl } from "./recovery/s3Url";
import { issuerProblem, type OidcSettings } from "./security/oidc";
import { isInsideRepository, REPOSITORY } from "./sources/checkouts";

/** The repository root: the project the service operates on when none is configured. */
export const REPO_ROOT = path.resolve(__dirname, "..");
/** The pinned CLI version `scripts/setup-pulumi.sh` provisions; /readyz refuses anything older. */
export const PULUMI_VERSION = "3.259.0";

const int = (min: number, max: number) =>
    z
        .string()
        .trim()
        .regex(/^\d+$/, "must be a whole number")
        .transform(Number)
        .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const absPath = z
    .string()
    .trim()
    .min(1, "must not be empty")
    .transform((p) => path.resolve(p));

/**
 * Every environment variable the service reads, with its default. This is the only place
 * `process.env` is interpreted; the rest of the service gets a typed `ServiceConfig`.
 */
const EnvSchema = z.object({
    /** TCP port to listen on; 0 picks a free one. @default 8080 */
    PORT: int(0, 65535).default(8080),
    /** Interface to bind. @default 127.0.0.1 (the service runs infrastructure changes: expose it deliberately) */
    HOST: z.string().trim().min(1).default("127.0.0.1"),
    /** The Pulumi project (a directory with Pulumi.yaml) the service operates on. @default the repository */
    AUTOMATION_PROJECT_DIR: absPath.default(REPO_ROOT),
    /** Where the job store, the passphrase and the default backend live. @default <project>/.automation */
    AUTOMATION_DATA_DIR: absPath.optional(),
    /** Pulumi state backend. @default file://<data dir>/state */
    PULUMI_BACKEND_URL: z
        .string()
        .trim()
        .regex(/^(file|s3|azblob|gs|https?|postgres):\/\//, "must be a backend URL such as file:///abs/dir, s3://bucket or postgres://host/db")
        // An S3 URL is read by the service too (its locks): what the CLI would refuse is refused at start.
        .superRefine((url, ctx) => {
            if (!url.startsWith("s3://")) return;
            try {
                parseS3BackendUrl(url);
            } catch (e) {
                ctx.addIssue({ code: "custom", message: (e as Error).message.replace(/^PULUMI_BACKEND_URL: /, "") });
            }
        })
        .optional(),
    AUTOMATION_DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\/\S+$/, "must be a Postgres URL such as postgres://automation@db.internal:5432/automation").optional(),
    /** The database password, kept out of AUTOMATION_DATABASE_URL (on ECS: a Secrets Manager secret ECS puts here). @default the URL's own, if any */
    AUTOMATION_DATABASE_PASSWORD: z.string().regex(/\S/, "must not be blank (unset it when the URL carries the password)").optional(),
    /**
     * Each stack's AWS role, assumed per job (pulumi/stackRoles.ts): `{"dev": "<role ARN>", "prod":
     * {"deploy": "<ARN>", "preview": "<ARN>"}}`. Set, no job gets the service's own AWS credentials. @default none
     */
    AUTOMATION_STACK_ROLES: z
        .string()
        .optional()
        .transform((s, ctx) => {
            if (s === undefined) return undefined;
            try {
                return parseStackRoles(s);
            } catch (e) {
                ctx.addIssue({ code: "custom", message: (e as Error).message });
                return z.NEVER;
            }
        }),
    /** Passphrase of the passphrase secrets provider. @default generated once into <data dir>/passphrase (mode 0600) */
    PULUMI_CONFIG_PASSPHRASE: z.string().min(1, "must not be empty (unset it to use the generated one)").optional(),
    /** Directory holding `pulumi` and `pulumi-language-nodejs`. @default ~/.pulumi/versions/3.259.0/bin (what scripts/setup-pulumi.sh fills) */
    AUTOMATION_PULUMI_BIN: absPath.optional(),
    /** Jobs running at once across all stacks (one per stack at most). @default 2 */
    AUTOMATION_CONCURRENCY: int(1, 64).default(2),
    AUTOMATION_INSTANCE_ID: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, "must be a name of letters, digits and . _ : - (at most 100)").optional(),
    AUTOMATION_HEARTBEAT_MS: int(100, 60_000).default(5000),
    AUTOMATION_SCHEDULE_TICK_MS: int(100, 60_000).default(15_000),
    /** How long jobs keep their engine events, logs and plans: `90d`, `12h`, `15m`, `30s`. @default 90d */
    AUTOMATION_JOB_RETENTION: z
        .string()
        .trim()
        .default("90d")
        .transform((t, ctx) => {
            const ms = parseDuration(t);
            if (ms === undefined || ms < 1000) {
                ctx.addIssue({ code: "custom", message: "must be a duration such as 90d, 12h, 15m or 30s" });
                return z.NEVER;
            }
            return ms;
        }),
    /** With a shared database: how far an instance's clock may be off the database's before it makes no schedule decision. @default 5000 */
    AUTOMATION_MAX_CLOCK_SKEW_MS: int(100, 3_600_000).default(5000),
    AUTOMATION_INSTANCE_SILENCE_MS: int(1000, 600_000).default(30_000),
    /** Jobs that may wait per stack before new ones get 409 QUEUE_FULL. @default 20 */
    AUTOMATION_QUEUE_LIMIT: int(1, 1000).default(20),
    /**
     * After a graceful cancel (SIGINT to the engine), how long before the job's process group is
     * killed; 0 never kills it: the resource operations in flight finish, however long they take,
     * and only an admin's force-cancel cuts them off. @default 0
     */
    AUTOMATION_CANCEL_GRACE_MS: int(0, 3_600_000).default(0),
    /** On SIGTERM, how long running jobs may finish before they are cancelled and marked interrupted. @default 30000 */
    AUTOMATION_SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(30_000),
    /**
     * Comma-separated policy pack directories run on every preview and update; set but empty
     * turns packs off. @default <project>/policy when it holds a PulumiPolicy.yaml, else none
     */
    AUTOMATION_POLICY_PACKS: z
        .string()
        .optional()
        .transform((s) => (s === undefined ? undefined : s.split(",").map((p) => p.trim()).filter(Boolean).map((p) => path.resolve(p)))),
    /** Token file (hashed bearer tokens, see `npm run token`). @default <data dir>/tokens.json */
    AUTOMATION_TOKENS_FILE: absPath.optional(),
    /**
     * The service's address as people and receivers reach it (https://automation.example.com): links
     * in notifications, and the return address of sign-in. @default none (notifications carry paths only)
     */
    AUTOMATION_PUBLIC_URL: z
        .string()
        .trim()
        .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol) && !new URL(s).search && !new URL(s).hash, "must be an http(s) URL without a query, such as https://automation.example.com")
        .transform((s) => s.replace(/\/+$/, ""))
        .optional(),
    /** OpenID Connect sign-in for people (security/signIn.ts): the provider's issuer URL; unset, sign-in is off and only tokens work. */
    AUTOMATION_OIDC_ISSUER: z
        .string()
        .trim()
        .refine((s) => URL.canParse(s), "must be the provider's issuer URL, such as https://login.example.com/realms/main")
        .refine((s) => !URL.canParse(s) || issuerProblem(new URL(s)) === undefined, "must be an https URL (http only on 127.0.0.1 or localhost)")
        .optional(),
    /** The client id registered with the provider for this service. */
    AUTOMATION_OIDC_CLIENT_ID: z.string().trim().min(1).optional(),
    /** The client's secret; unset: a public client (PKCE alone). */
    AUTOMATION_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    /** The claim holding the groups the role map reads. @default groups */
    AUTOMATION_OIDC_ROLES_CLAIM: z.string().trim().regex(/^[A-Za-z0-9_:./-]{1,100}$/, "must be a claim name such as groups or roles").default("groups"),
    /** The role map: a YAML file giving each role the groups whose members hold it (docs/sign-in.md). */
    AUTOMATION_OIDC_ROLE_MAP: absPath.optional(),
    /** Scopes asked of the provider, space-separated; openid is always added. @default "openid profile email" */
    AUTOMATION_OIDC_SCOPES: z
        .string()
        .default("openid profile email")
        .transform((s) => [...new Set(["openid", ...s.split(/[\s,]+/).filter(Boolean)])]),
    /** How long a person's groups, as the provider last said, stand for reading; every change asks again. @default 60000 */
    AUTOMATION_OIDC_RECHECK_MS: int(0, 3_600_000).default(60_000),
    /** A session's longest life, however active. @default 43200000 (12 h) */
    AUTOMATION_OIDC_SESSION_TTL_MS: int(60_000, 30 * 86_400_000).default(12 * 3_600_000),
    /** Log lines one job may store; past it a marker says so and the rest is dropped. @default 20000 */
    AUTOMATION_JOB_LOG_LINES: int(100, 10_000_000).default(20_000),
    /** Engine events one job may store (its summary still counts every step). @default 20000 */
    AUTOMATION_JOB_EVENTS: int(100, 10_000_000).default(20_000),
    /** Event streams (SSE) one caller may hold open at once. @default 10 */
    AUTOMATION_SSE_STREAMS_PER_CALLER: int(1, 1000).default(10),
    /** Largest accepted request body in bytes. @default 65536 */
    AUTOMATION_BODY_LIMIT: int(256, 10 * 1024 * 1024).default(65_536),
    /** Largest accepted GitHub delivery in bytes (GitHub sends up to 25 MB). @default 26214400 */
    AUTOMATION_WEBHOOK_BODY_LIMIT: int(1024, 100 * 1024 * 1024).default(25 * 1024 * 1024),
    /** pino level. @default info */
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** `json` lines for a supervisor and a log collector; `pretty` (pino-pretty) for a person at a terminal. @default json */
    AUTOMATION_LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
    /** Directory of the environment policies (`<stack>.yaml`). @default <project>/environments */
    AUTOMATION_ENVIRONMENTS_DIR: absPath.optional(),
    /** Mutating requests per caller per minute. @default 120 */
    AUTOMATION_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(120),
    /** Refused requests (401, 403, 4xx of any method) per caller, or per address without a token, per minute. @default 60 */
    AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(60),
    /** Size after which the audit log is rotated (the chain goes on in the next file). @default 67108864 (64 MiB) */
    AUTOMATION_AUDIT_MAX_BYTES: int(4096, 2 ** 40).default(64 * 1024 * 1024),
    /** Shared secret of the GitHub webhook; setting it turns webhooks on. @default off */
    AUTOMATION_GITHUB_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters; generate one with `openssl rand -hex 32`").optional(),
    /** Comma-separated owner/name repositories allowed to send webhooks (required with the secret). */
    AUTOMATION_GITHUB_REPOSITORIES: z
        .string()
        .optional()
        .transform((s) => (s ?? "").split(",").map((r) => r.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(REPOSITORY, "must list owner/name repositories, comma-separated"))),
    /** Where pull-request heads are fetched from; `{repository}` stands for owner/name. @default https://github.com/{repository}.git */
    AUTOMATION_GITHUB_GIT_URL: z.string().trim().includes("{repository}", { message: "must contain {repository}, e.g. https://github.com/{repository}.git" }).default("https://github.com/{repository}.git"),
    /** The Pulumi project's directory inside the repository. @default . */
    AUTOMATION_GITHUB_PROJECT_PATH: z.string().trim().refine(isInsideRepository, "must be a relative path inside the repository").default("."),
    /** Preview pull requests from forks (their code would run here). @default false */
    AUTOMATION_GITHUB_ALLOW_FORKS: z.enum(["true", "false"], { message: "must be true or false" }).default("false"),
    /** Token for PR comments and private fetches. @default none (no comments) */
    AUTOMATION_GITHUB_TOKEN: z.string().min(1).optional(),
    AUTOMATION_NOTIFY_WEBHOOK_URL: z.string().trim().url().regex(/^https?:\/\//, "must be an http(s) URL").optional(),
    AUTOMATION_NOTIFY_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    AUTOMATION_NOTIFY_FILE: z.string().trim().optional(),
    /**
     * Comma-separated names of variables a pull request's sandboxed preview may see besides
     * PATH, locale and the Pulumi ones (e.g. read-only cloud credentials). @default none
     */
    AUTOMATION_PR_PREVIEW_ENV: z
        .string()
        .optional()
        .transform((s) => (s ?? "").split(",").map((v) => v.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(/^(?!AUTOMATION_)[A-Za-z_][A-Za-z0-9_]*$/, "must list variable names, none of the service's own AUTOMATION_* ones"))),
    /** Let pull-request previews reach the network (a preview of a real cloud needs it). @default false */
    AUTOMATION_PR_PREVIEW_NETWORK: z.enum(["true", "false"], { message: "must be true or false" }).default("false"),
    /** Longest a pull request's preview may run before it is stopped. @default 900000 (15 minutes) */
    AUTOMATION_PR_PREVIEW_TIMEOUT_MS: int(10_000, 24 * 3_600_000).default(900_000),
    /** Largest pull-request head checked out (the sum of its files' sizes). @default 200 MiB */
    AUTOMATION_PR_CHECKOUT_MAX_BYTES: int(1024 * 1024, 10 * 1024 * 1024 * 1024).default(200 * 1024 * 1024),
    /** Size of a pull-request preview's private /tmp, the only place it can write. @default 512 MiB */
    AUTOMATION_PR_PREVIEW_TMP_BYTES: int(16 * 1024 * 1024, 64 * 1024 * 1024 * 1024).default(512 * 1024 * 1024),
    /** GitHub API base URL (GitHub Enterprise). @default https://api.github.com */
    AUTOMATION_GITHUB_API_URL: z.url({ message: "must be a URL such as https://api.github.com" }).optional(),
});

const KEEP_EMPTY = new Set(["AUTOMATION_POLICY_PACKS"]);
/** Variables whose values are never echoed in a configuration error. */
const SECRET_KEYS = new Set(["PULUMI_CONFIG_PASSPHRASE", "AUTOMATION_OIDC_CLIENT_SECRET", "AUTOMATION_DATABASE_PASSWORD", "AUTOMATION_GITHUB_WEBHOOK_SECRET", "AUTOMATION_GITHUB_TOKEN", "AUTOMATION_NOTIFY_WEBHOOK_SECRET"]);

/**
 * The service's own variables are not the programs' business: a job's worker inherits the
 * service's environment (cloud credentials, proxies) without them, so no program — least of
 * all a pull request's — can read the webhook secret or the GitHub token.
 */
const isServiceVariable = (key: string) => key.startsWith("AUTOMATION_") || key === "PORT" || key === "HOST" || key === "LOG_LEVEL";

/** Where a project keeps its own policy pack; the CI pipeline and the buildspecs run the same one. */
export const PROJECT_POLICY_DIR = "policy";

/**
 * The packs a project gets without AUTOMATION_POLICY_PACKS: its own `policy/` pack when it has
 * one, so the service's previews are held to the same rules as CI's.
 */
export function defaultPolicyPacks(projectDir: string): string[] {
    const dir = path.join(projectDir, PROJECT_POLICY_DIR);
    return fs.existsSync(path.join(dir, "PulumiPolicy.yaml")) ? [dir] : [];
}

export interface ServiceConfig {
    port: number;
    host: string;
    projectDir: string;
    dataDir: string;
    backendUrl: string;
    /** The shared Postgres of the job store, approvals, deliveries, findings and audit; undefined: SQLite files in the data dir. */
    databaseUrl?: string;
    /** Each stack's AWS role, assumed per job; undefined: jobs inherit the service's environment. */
    stackRoles?: StackRoles;
    /** How often the stacks' schedules are looked at (schedules/). */
    scheduleTickMs: number;
    /** With a shared database: largest tolerated difference between this instance's clock and the database's. */
    maxClockSkewMs: number;
    /** How long jobs keep their events, logs and plans (AUTOMATION_JOB_RETENTION). */
    jobRetentionMs: number;
    /** Where notifications go (notifications/destinations.ts); empty: nowhere. */
    notifications: Destination[];
    /** With a database: this instance's name, kept across restarts if set; the instances' heartbeat and the silence after which one is gone. */
    instances: { id?: string; heartbeatMs: number; silenceMs: number };
    /** undefined: the server generates and keeps one in the data dir. */
    passphrase?: string;
    pulumiBin: string;
    concurrency: number;
    queueLimit: number;
    cancelGraceMs: number;
    shutdownGraceMs: number;
    policyPacks: string[];
    tokensFile: string;
    bodyLimit: number;
    webhookBodyLimit: number;
    jobLimits: { logLines: number; events: number };
    streamsPerCaller: number;
    logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
    logFormat: "json" | "pretty";
    environmentsDir: string;
    rateLimitPerMinute: number;
    refusalRateLimitPerMinute: number;
    auditMaxBytes: number;
    /** Present when GitHub webhooks are on. */
    webhooks?: WebhookSettings;
    /** Present when a GitHub token is configured (PR comments, private fetches). */
    github?: { token: string; apiUrl?: string };
    /** The service's address as people reach it, without a trailing slash (AUTOMATION_PUBLIC_URL). */
    publicUrl?: string;
    /** Present when people sign in through an OpenID provider. */
    oidc?: OidcSettings;
    /** What every job's worker inherits: the process environment without the service's own variables. */
    inheritedEnv: Readonly<Record<string, string>>;
}

/** GitHub webhooks: who may send them and where pull-request heads are fetched from. */
export interface WebhookSettings {
    secret: string;
    /** owner/name of the repositories allowed to trigger anything. */
    repositories: readonly string[];
    /** `{repository}` stands for owner/name. */
    gitUrl: string;
    /** The Pulumi project's directory in the repository. */
    projectPath: string;
    /** Preview pull requests from forks: their program would run here, written by an outsider. */
    allowForks: boolean;
    /** The sandbox of pull-request previews (pulumi/sandbox.ts). */
    sandbox: { bwrap: string; network: boolean; env: readonly string[]; timeoutMs: number; tmpBytes: number };
    /** Largest head checked out, by the sum of its files' sizes. */
    checkoutMaxBytes: number;
}

/**
 * Sign-in's settings, or undefined when it is off. The issuer needs the rest: a client id, a
 * role map (without one nobody would get a role) and the public URL the provider sends people
 * back to (it must match the redirect URI registered there).
 */
function oidcSettings(e: z.infer<typeof EnvSchema>): OidcSettings | undefined {
    const set = (["AUTOMATION_OIDC_CLIENT_ID", "AUTOMATION_OIDC_CLIENT_SECRET", "AUTOMATION_OIDC_ROLE_MAP"] as const).filter((k) => e[k] !== undefined);
    if (!e.AUTOMATION_OIDC_ISSUER) {
        if (set.length) throw new ConfigError([`AUTOMATION_OIDC_ISSUER: must be set when ${set.join(", ")} ${set.length > 1 ? "are" : "is"} (sign-in needs the provider's issuer URL), or unset ${set.length > 1 ? "them" : "it"}`]);
        return undefined;
    }
    const problems = [
        ...(e.AUTOMATION_OIDC_CLIENT_ID ? [] : ["AUTOMATION_OIDC_CLIENT_ID: must be set with AUTOMATION_OIDC_ISSUER: the client id registered with the provider for this service"]),
        ...(e.AUTOMATION_OIDC_ROLE_MAP ? [] : ["AUTOMATION_OIDC_ROLE_MAP: must be set with AUTOMATION_OIDC_ISSUER: the file giving roles to the provider's groups (docs/sign-in.md shows one)"]),
        ...(e.AUTOMATION_PUBLIC_URL ? [] : ["AUTOMATION_PUBLIC_URL: must be set with AUTOMATION_OIDC_ISSUER: the address people reach the service at; the provider sends them back to <it>/auth/callback"]),
        ...(e.AUTOMATION_PUBLIC_URL && issuerProblem(new URL(e.AUTOMATION_PUBLIC_URL))
            ? ["AUTOMATION_PUBLIC_URL: must be https with sign-in on (the session cookie is Secure), or http on 127.0.0.1 or localhost"]
            : []),
    ];
    if (problems.length) throw new ConfigError(problems);
    return {
        issuer: new URL(e.AUTOMATION_OIDC_ISSUER),
        clientId: e.AUTOMATION_OIDC_CLIENT_ID!,
        ...(e.AUTOMATION_OIDC_CLIENT_SECRET ? { clientSecret: e.AUTOMATION_OIDC_CLIENT_SECRET } : {}),
        scopes: e.AUTOMATION_OIDC_SCOPES,
        rolesClaim: e.AUTOMATION_OIDC_ROLES_CLAIM,
        roleMapFile: e.AUTOMATION_OIDC_ROLE_MAP!,
        redirectUrl: `${e.AUTOMATION_PUBLIC_URL}/auth/callback`,
        postLogoutUrl: `${e.AUTOMATION_PUBLIC_URL}/`,
        recheckMs: e.AUTOMATION_OIDC_RECHECK_MS,
        sessionTtlMs: e.AUTOMATION_OIDC_SESSION_TTL_MS,
    };
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Reads and validates the configuration. Every bad value is reported at once, each naming the
 * variable, what it got and what it needs, so a start-up fails with one readable message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
    // Empty means unset, except for the policy packs, where empty is the way to turn the default pack off.
    const known = Object.fromEntries(Object.keys(EnvSchema.shape).map((k) => [k, env[k] === "" && !KEEP_EMPTY.has(k) ? undefined : env[k]]));
    const parsed = EnvSchema.safeParse(known);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.map((i) => {
                const key = String(i.path[0]);
                const got = known[key];
                // A URL's user info may hold a password (postgres://user:pw@…, s3://key:secret@…): never echoed.
                const shown = SECRET_KEYS.has(key) || got === undefined ? "" : ` (got "${String(got).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1…@")}")`;
                return `${key}: ${i.message}${shown}`;
            }),
        );
    }
    const e = parsed.data;
    // Webhooks are on with the secret; then the allow-list is required, so a leaked secret
    // alone cannot trigger runs from any repository.
    if (e.AUTOMATION_GITHUB_WEBHOOK_SECRET && !e.AUTOMATION_GITHUB_REPOSITORIES.length) {
        throw new ConfigError(["AUTOMATION_GITHUB_REPOSITORIES: must list the owner/name repositories allowed to send webhooks (AUTOMATION_GITHUB_WEBHOOK_SECRET is set)"]);
    }
    // Pull-request previews run a stranger's code: without the sandbox, webhooks stay off.
    const bwrap = e.AUTOMATION_GITHUB_WEBHOOK_SECRET ? findBwrap(env.PATH) : undefined;
    if (e.AUTOMATION_GITHUB_WEBHOOK_SECRET && !bwrap) {
        throw new ConfigError(["AUTOMATION_GITHUB_WEBHOOK_SECRET: webhooks preview pull requests inside a bubblewrap sandbox, and no bwrap is on PATH; install it (npm run setup does: apt-get install bubblewrap)"]);
    }
    // Instances share their stacks' secrets and watch each other: one passphrase, and a silence
    // several heartbeats long (else a busy instance would be taken for a dead one).
    if (e.AUTOMATION_DATABASE_URL && !e.PULUMI_CONFIG_PASSPHRASE) {
        throw new ConfigError(["PULUMI_CONFIG_PASSPHRASE: with AUTOMATION_DATABASE_URL every instance must use the same passphrase; set it (an instance of its own would generate one in its data dir)"]);
    }
    if (e.AUTOMATION_INSTANCE_SILENCE_MS < 3 * e.AUTOMATION_HEARTBEAT_MS) {
        throw new ConfigError([`AUTOMATION_INSTANCE_SILENCE_MS: must be at least 3 × AUTOMATION_HEARTBEAT_MS (${3 * e.AUTOMATION_HEARTBEAT_MS}), so one late heartbeat never counts as a dead instance (got ${e.AUTOMATION_INSTANCE_SILENCE_MS})`]);
    }
    if (e.AUTOMATION_NOTIFY_WEBHOOK_SECRET && !e.AUTOMATION_NOTIFY_WEBHOOK_URL) {
        throw new ConfigError(["AUTOMATION_NOTIFY_WEBHOOK_SECRET: set without AUTOMATION_NOTIFY_WEBHOOK_URL; set the URL it signs for"]);
    }
    let notifications: Destination[];
    try {
        notifications = loadDestinations({ webhookUrl: e.AUTOMATION_NOTIFY_WEBHOOK_URL, webhookSecret: e.AUTOMATION_NOTIFY_WEBHOOK_SECRET, file: e.AUTOMATION_NOTIFY_FILE, env });
    } catch (err) {
        throw new ConfigError((err as { problems?: string[] }).problems ?? [String(err)]);
    }
    const oidc = oidcSettings(e);
    let databaseUrl = e.AUTOMATION_DATABASE_URL;
    if (e.AUTOMATION_DATABASE_PASSWORD !== undefined) {
        const url = databaseUrl ? new URL(databaseUrl) : undefined;
        if (!url || url.password) {
            throw new ConfigError([`AUTOMATION_DATABASE_PASSWORD: ${url ? "AUTOMATION_DATABASE_URL carries a password already; keep one of the two" : "set without AUTOMATION_DATABASE_URL; set the URL it is the password of"}`]);
        }
        // Encoded whole: the URL setter leaves "%" as it is, and the driver would decode a "%20" in the password.
        url.password = encodeURIComponent(e.AUTOMATION_DATABASE_PASSWORD);
        databaseUrl = url.toString();
    }
    const dataDir = e.AUTOMATION_DATA_DIR ?? path.join(e.AUTOMATION_PROJECT_DIR, ".automation");
    return {
        notifications,
        scheduleTickMs: e.AUTOMATION_SCHEDULE_TICK_MS,
        maxClockSkewMs: e.AUTOMATION_MAX_CLOCK_SKEW_MS,
        jobRetentionMs: e.AUTOMATION_JOB_RETENTION,
        port: e.PORT,
        host: e.HOST,
        projectDir: e.AUTOMATION_PROJECT_DIR,
        dataDir,
        backendUrl: e.PULUMI_BACKEND_URL ?? `file://${path.join(dataDir, "state")}`,
        databaseUrl,
        ...(e.AUTOMATION_STACK_ROLES ? { stackRoles: e.AUTOMATION_STACK_ROLES } : {}),
        instances: { id: e.AUTOMATION_INSTANCE_ID, heartbeatMs: e.AUTOMATION_HEARTBEAT_MS, silenceMs: e.AUTOMATION_INSTANCE_SILENCE_MS },
        passphrase: e.PULUMI_CONFIG_PASSPHRASE,
        pulumiBin: e.AUTOMATION_PULUMI_BIN ?? path.join(os.homedir(), ".pulumi", "versions", PULUMI_VERSION, "bin"),
        concurrency: e.AUTOMATION_CONCURRENCY,
        queueLimit: e.AUTOMATION_QUEUE_LIMIT,
        cancelGraceMs: e.AUTOMATION_CANCEL_GRACE_MS,
        shutdownGraceMs: e.AUTOMATION_SHUTDOWN_GRACE_MS,
        policyPacks: e.AUTOMATION_POLICY_PACKS ?? defaultPolicyPacks(e.AUTOMATION_PROJECT_DIR),
        tokensFile: e.AUTOMATION_TOKENS_FILE ?? path.join(dataDir, "tokens.json"),
        bodyLimit: e.AUTOMATION_BODY_LIMIT,
        webhookBodyLimit: e.AUTOMATION_WEBHOOK_BODY_LIMIT,
        jobLimits: { logLines: e.AUTOMATION_JOB_LOG_LINES, events: e.AUTOMATION_JOB_EVENTS },
        streamsPerCaller: e.AUTOMATION_SSE_STREAMS_PER_CALLER,
        logLevel: e.LOG_LEVEL,
        logFormat: e.AUTOMATION_LOG_FORMAT,
        environmentsDir: e.AUTOMATION_ENVIRONMENTS_DIR ?? path.join(e.AUTOMATION_PROJECT_DIR, "environments"),
        rateLimitPerMinute: e.AUTOMATION_RATE_LIMIT_PER_MINUTE,
        refusalRateLimitPerMinute: e.AUTOMATION_REFUSAL_RATE_LIMIT_PER_MINUTE,
        auditMaxBytes: e.AUTOMATION_AUDIT_MAX_BYTES,
        ...(e.AUTOMATION_GITHUB_WEBHOOK_SECRET
            ? {
                  webhooks: {
                      secret: e.AUTOMATION_GITHUB_WEBHOOK_SECRET,
                      repositories: e.AUTOMATION_GITHUB_REPOSITORIES,
                      gitUrl: e.AUTOMATION_GITHUB_GIT_URL,
                      projectPath: e.AUTOMATION_GITHUB_PROJECT_PATH,
                      allowForks: e.AUTOMATION_GITHUB_ALLOW_FORKS === "true",
                      sandbox: {
                          bwrap: bwrap!,
                          network: e.AUTOMATION_PR_PREVIEW_NETWORK === "true",
                          env: e.AUTOMATION_PR_PREVIEW_ENV,
                          timeoutMs: e.AUTOMATION_PR_PREVIEW_TIMEOUT_MS,
                          tmpBytes: e.AUTOMATION_PR_PREVIEW_TMP_BYTES,
                      },
                      checkoutMaxBytes: e.AUTOMATION_PR_CHECKOUT_MAX_BYTES,
                  },
              }
            : {}),
        ...(e.AUTOMATION_GITHUB_TOKEN ? { github: { token: e.AUTOMATION_GITHUB_TOKEN, ...(e.AUTOMATION_GITHUB_API_URL ? { apiUrl: e.AUTOMATION_GITHUB_API_URL } : {}) } } : {}),
        ...(e.AUTOMATION_PUBLIC_URL ? { publicUrl: e.AUTOMATION_PUBLIC_URL } : {}),
        ...(oidc ? { oidc } : {}),
        // With stack roles, a job's only AWS identity is its stack's role: none of the service's own reaches it.
        inheritedEnv: Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => typeof kv[1] === "string" && !isServiceVariable(kv[0])
            && !(e.AUTOMATION_STACK_ROLES && AWS_CREDENTIAL_VARIABLES.includes(kv[0])))),
    };
}
