// Each stack's jobs run with that stack's own AWS role, assumed for the job, never with the
// service's own rights (AUTOMATION_STACK_ROLES). The service hands a job no keys: it gives the
// job's CLI a credentials endpoint on loopback (the ECS container-credentials protocol every AWS
// SDK speaks: AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN), which
// answers with the stack role's session and assumes it again before it runs out. The service's
// own identity (an ECS task role) is itself an assumed role, so AWS caps the chained session at
// one hour; static keys in the environment would stop a longer update half way, the endpoint lets
// the CLI, its providers and the program refresh them like any SDK refreshes a task's role.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { AppError } from "../errors";
import type { JobOptions, Op } from "../jobs/types";
import { STACK_NAME_PATTERN } from "./stacks";

/** What a job or a service-side command does to its stack: reads it (previews, drift checks, fingerprints) or changes it. */
export type Access = "read" | "write";

/** A stack's roles: `deploy` changes it; `preview`, when given, serves the jobs that only read it. */
export interface StackRole {
    deploy: string;
    preview?: string;
}
export type StackRoles = Readonly<Record<string, StackRole>>;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const STACK_NAME = new RegExp(`^${STACK_NAME_PATTERN}$`);
const SHAPE = '{"dev": "arn:aws:iam::123456789012:role/deploy-dev", "prod": {"deploy": "arn:…", "preview": "arn:…"}}';

/** A role ARN at `where`, or the problem naming it. */
function roleArn(value: unknown, where: string): string {
    if (typeof value !== "string" || !ROLE_ARN.test(value.trim())) throw new Error(`"${where}": must be an IAM role ARN such as arn:aws:iam::123456789012:role/deploy-dev`);
    return value.trim();
}

/**
 * Parses AUTOMATION_STACK_ROLES, `{"dev": "<arn>", "prod": {"deploy": "<arn>", "preview": "<arn>"}}`
 * (a stack → its role, or its deploy and preview roles); the problem names the stack and the fix.
 * Checked by hand rather than by a schema: a schema's union says "Invalid input" and no more.
 */
export function parseStackRoles(text: string): StackRoles {
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch {
        throw new Error(`must be JSON such as ${SHAPE}`);
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`must be a JSON object such as ${SHAPE}`);
    const roles: Record<string, StackRole> = {};
    for (const [stack, value] of Object.entries(raw)) {
        if (!STACK_NAME.test(stack)) throw new Error(`"${stack}": a stack name must be 1-100 letters, digits, '.', '_' or '-'`);
        if (typeof value === "string") {
            roles[stack] = { deploy: roleArn(value, stack) };
            continue;
        }
        if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`"${stack}": must be a role ARN, or {"deploy": "<ARN>", "preview": "<ARN>"}`);
        const unknown = Object.keys(value).filter((k) => k !== "deploy" && k !== "preview");
        if (unknown.length) throw new Error(`"${stack}": unknown key ${unknown.map((k) => `"${k}"`).join(", ")}; a stack's roles are "deploy" (required) and "preview" (optional)`);
        const v = value as { deploy?: unknown; preview?: unknown };
        if (v.deploy === undefined) throw new Error(`"${stack}": names no "deploy" role; the deploy role is required, "preview" only serves the jobs that read`);
        roles[stack] = { deploy: roleArn(v.deploy, `${stack}.deploy`), ...(v.preview !== undefined ? { preview: roleArn(v.preview, `${stack}.preview`) } : {}) };
    }
    if (Object.keys(roles).length === 0) throw new Error("names no stack; give each stack the service runs its role, or unset it");
    return roles;
}

/** A preview, or a refresh that only reports drift, reads; everything else may change the stack. */
export function accessOf(op: Op, options: Pick<JobOptions, "mode">): Access {
    if (op === "preview") return "read";
    if (op === "refresh" && options.mode !== "apply") return "read";
    return "write";
}

/** The role a stack's work of `access` runs as; a stack without one runs nothing (never the service's own rights). */
export function roleFor(roles: StackRoles, stack: string, access: Access): string {
    const role = roles[stack];
    if (!role) {
        throw new AppError("STACK_ROLE_MISSING", 403,
            `Stack "${stack}" has no AWS role in AUTOMATION_STACK_ROLES, and the service runs nothing on a stack with its own rights. Add "${stack}": "<the stack's deploy role ARN>" to AUTOMATION_STACK_ROLES (on ECS: the automationService config of the delivery stack).`,
            { stack });
    }
    return access === "read" ? (role.preview ?? role.deploy) : role.deploy;
}

/** STS's RoleSessionName (2-64 of `[\w+=,.@-]`): CloudTrail then names the job behind every call. */
export function sessionName(name: string): string {
    const cleaned = name.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
    return cleaned.length >= 2 ? cleaned : `${cleaned}--`.slice(0, 2);
}

/**
 * A job's RoleSessionName: its operation, its id whole (CloudTrail's session name then finds the
 * job) and as much of who asked as fits STS's 64 characters (SourceIdentity carries it whole).
 */
export function jobSessionName(job: { id: string; op: Op; triggeredBy: string }): string {
    const head = sessionName(`${job.op}-${job.id}`);
    const actor = sessionName(job.triggeredBy.replace(/^(dependency|schedule):/, "automation-"));
    const room = 64 - head.length - 1;
    const fitted = actor.slice(0, room).replace(/-+$/, "");
    return fitted.length >= 2 ? `${head}-${fitted}` : head;
}

/**
 * STS's SourceIdentity: who asked for the job (a token's name, a signed-in person), recorded by
 * CloudTrail on every call the session makes and kept by any role it assumes further.
 */
export function sourceIdentity(who: string): string {
    return sessionName(who.replace(/^(dependency|schedule):/, "automation-"));
}

/**
 * Every variable through which an AWS SDK finds credentials other than the job's endpoint. With
 * stack roles they are kept from jobs (config.ts): the service's own (the ECS task role's relative
 * URI), and any a host holds (keys, profiles, files) that the SDK's chain would prefer.
 */
export const AWS_CREDENTIAL_VARIABLES = [
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
];

/** What a job (or a service-side command) is given: its environment, the secrets in it, and the end of its access. */
export interface IssuedCredentials {
    /** Set in the job's worker before its CLI starts. */
    env: Record<string, string>;
    /** For the job's redactor: the endpoint's token. */
    secrets: string[];
    /** The endpoint refuses the token from now on (the job is over). */
    revoke(): void;
}

export interface CredentialsRequest {
    stack: string;
    access: Access;
    /** RoleSessionName: the job (`job-<id>`), or the service's own command. */
    session: string;
    /** Who asked for it (SourceIdentity). */
    requestedBy: string;
    /** Told each session's secret key and token as it is assumed, so the job's redactor knows them. */
    onSecrets?: (values: string[]) => void;
}

interface Session {
    role: string;
    request: CredentialsRequest;
    credentials?: { AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: Date };
    refreshing?: Promise<void>;
}

/** One hour: the longest session STS gives a role assumed by an assumed role (the ECS task role). */
const SESSION_SECONDS = 3600;

export interface StackCredentialsOptions {
    roles: StackRoles;
    /** @default a client of the service's own credentials and region */
    sts?: STSClient;
    /** The endpoint serves a session only while it has at least this long to run, else assumes the role again. @default 15 minutes */
    refreshBeforeMs?: number;
    now?: () => number;
}

/**
 * The stacks' roles and the loopback endpoint that serves them. A job's first session is assumed
 * before its worker starts, so a role that cannot be assumed fails the job before any CLI runs.
 */
export class StackCredentials {
    private server?: Server;
    private url?: string;
    /** sha256(token) → the session it opens. */
    private readonly sessions = new Map<string, Session>();
    /** The service's own commands per stack and access (fingerprints, recovery): one session each, kept while the service runs. */
    private readonly serviceSessions = new Map<string, Promise<IssuedCredentials>>();
    private readonly sts: STSClient;
    private readonly now: () => number;

    constructor(private readonly o: StackCredentialsOptions) {
        this.sts = o.sts ?? new STSClient({});
        this.now = o.now ?? Date.now;
    }

    get roles(): StackRoles {
        return this.o.roles;
    }

    /** Listens on 127.0.0.1 only: the job's processes run beside the service. */
    async start(): Promise<void> {
        const server = createServer((req, res) => void this.answer(req.method, req.url, req.headers.authorization, res));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        // The HTTP server of the service keeps the process alive; this one never holds it up.
        server.unref();
        this.server = server;
        this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/credentials`;
    }

    /** A session of `request.stack`'s role for one job: assumed now (an AppError if AWS refuses), served until revoked. */
    async issue(request: CredentialsRequest): Promise<IssuedCredentials> {
        if (!this.url) throw new Error("StackCredentials.issue before start()");
        const session: Session = { role: roleFor(this.o.roles, request.stack, request.access), request };
        await this.refresh(session);
        const token = randomBytes(32).toString("base64url");
        const key = hash(token);
        this.sessions.set(key, session);
        return {
            env: {
                AWS_CONTAINER_CREDENTIALS_FULL_URI: this.url,
                AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
                // No fallback to a host's instance profile, or to credential files the image or host may hold.
                AWS_EC2_METADATA_DISABLED: "true",
                AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
                AWS_CONFIG_FILE: "/dev/null",
            },
            secrets: [token],
            revoke: () => void this.sessions.delete(key),
        };
    }

    /** The environment of the service's own CLI commands on `stack` (state export, repair): its role too, never the service's. */
    async serviceEnv(stack: string, access: Access): Promise<Record<string, string>> {
        const key = `${stack}\0${access}`;
        let issued = this.serviceSessions.get(key);
        if (!issued) {
            issued = this.issue({ stack, access, session: `automation-service-${stack}`, requestedBy: "automation-service" });
            this.serviceSessions.set(key, issued);
            // A refusal is not kept: the next command asks AWS again.
            issued.catch(() => this.serviceSessions.delete(key));
        }
        return (await issued).env;
    }

    async close(): Promise<void> {
        this.sessions.clear();
        this.serviceSessions.clear();
        const server = this.server;
        this.server = undefined;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private async answer(method: string | undefined, url: string | undefined, authorization: string | undefined, res: import("node:http").ServerResponse): Promise<void> {
        const reply = (status: number, body: object) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (method !== "GET" || url !== "/credentials") return void reply(404, { code: "NotFound", message: "GET /credentials only" });
        const session = authorization ? this.sessions.get(hash(authorization)) : undefined;
        if (!session) return void reply(403, { code: "AccessDenied", message: "unknown or revoked token: the job this endpoint served is over" });
        try {
            await this.refresh(session);
        } catch (err) {
            return void reply(500, { code: "AssumeRoleFailed", message: (err as Error).message });
        }
        const c = session.credentials!;
        reply(200, { AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, Token: c.Token, Expiration: c.Expiration.toISOString(), RoleArn: session.role });
    }

    /** Assumes the session's role when it has none, or one with less than `refreshBeforeMs` left; one call at a time. */
    private async refresh(session: Session): Promise<void> {
        const left = session.credentials ? session.credentials.Expiration.getTime() - this.now() : -1;
        if (left > (this.o.refreshBeforeMs ?? 15 * 60_000)) return;
        session.refreshing ??= this.assume(session).finally(() => (session.refreshing = undefined));
        await session.refreshing;
    }

    private async assume(session: Session): Promise<void> {
        const { stack, access, session: name, requestedBy } = session.request;
        let answer;
        try {
            answer = await this.sts.send(new AssumeRoleCommand({
                RoleArn: session.role, RoleSessionName: sessionName(name), SourceIdentity: sourceIdentity(requestedBy), DurationSeconds: SESSION_SECONDS,
            }));
        } catch (err) {
            const e = err as { name?: string; message?: string };
            throw new AppError("STACK_ROLE_UNAVAILABLE", 502,
                `Assuming stack "${stack}"'s ${access === "read" ? "read" : "deploy"} role ${session.role} failed (${e.name ?? "Error"}: ${e.message ?? String(err)}); nothing ran. Check that the role trusts the service's task role and that the task role may assume it (sts:AssumeRole, sts:SetSourceIdentity).`,
                { stack, role: session.role });
        }
        const c = answer.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
            throw new AppError("STACK_ROLE_UNAVAILABLE", 502, `STS answered AssumeRole of ${session.role} (stack "${stack}") without credentials; nothing ran.`, { stack, role: session.role });
        }
        session.credentials = { AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken, Expiration: new Date(c.Expiration) };
        session.request.onSecrets?.([c.SecretAccessKey, c.SessionToken]);
    }
}

const hash = (token: string) => createHash("sha256").update(token).digest("hex");
