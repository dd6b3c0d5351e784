import type { EnvironmentPolicy } from "../environments/policy";
import type { AuditTrail, AuditRecord } from "../audit/trail";
import { createHash } from "node:crypto";
import type { ErrorCode } from "../errorCodes";
import { AppError } from "../errors";
import type { Job, JobOptions, Op } from "../jobs/types";
import type { Principal } from "../security/roles";
import type { DeliveryStore } from "./deliveries";
import { verifyGithubSignature } from "../security/signature";
import { formatPreviewComment, markerFor, splitComment } from "./comment";
import { GitHubClient, upsertComments } from "./github";

export interface WebhookConfig {
    /** Shared secret of the GitHub webhook (AUTOMATION_GITHUB_WEBHOOK_SECRET). */
    secret: string;
    /** `owner/name` of the repositories allowed to trigger anything (AUTOMATION_GITHUB_REPOSITORIES). */
    repositories: readonly string[];
    /**
     * Preview pull requests whose head lives in a fork (AUTOMATION_GITHUB_ALLOW_FORKS): their
     * program would run with the service's credentials, written by someone outside the repository.
     * @default false
     */
    allowForks?: boolean;
}

export interface WebhookDeps {
    config: WebhookConfig;
    store: DeliveryStore;
    audit: AuditTrail;
    /** Records unsigned (bad-signature) requests, sampled: anyone can send them by the thousand. */
    refusals: { record(status: number, record: AuditRecord): void };
    stacks: () => string[];
    policyOf: (stack: string) => EnvironmentPolicy;
    submit: (input: { stack: string; op: Op; options: JobOptions; principal: Principal }) => Promise<Job>;
    /** Posts preview results on the PR when a token is configured. */
    github?: GitHubClient;
    /** What the PR comment needs once the preview has finished. */
    jobLog?: (jobId: string) => Promise<string[]>;
    redact: (text: string) => string;
    onError?: (err: unknown, context: Record<string, unknown>) => void;
}

export interface WebhookHeaders {
    signature?: string;
    event?: string;
    delivery?: string;
}

export interface WebhookResult {
    status: number;
    body: {
        event: string;
        delivery: string;
        jobs: { id: string; stack: string; op: Op }[];
        /** On a redelivery: the stacks an earlier attempt already started, with their jobs. */
        alreadyRan?: { stack: string; job: string }[];
        refused?: Refusal[];
        ignored?: string;
    };
}

/** A stack the delivery would have started a job on, and why the service refused it. */
export interface Refusal {
    stack: string;
    op: Op;
    code: ErrorCode;
    message: string;
}

const PR_ACTIONS = new Set(["opened", "synchronize", "reopened"]);

interface PrTarget {
    repo: string;
    number: number;
    sha?: string;
}

/**
 * GitHub deliveries: signature over the raw body (constant time), repository allow-list,
 * delivery-id replay protection, then previews for pull requests and updates for pushes as
 * the stacks' policies allow. Rejections do nothing but answer and audit.
 */
export class WebhookHandler {
    private readonly awaiting = new Map<string, PrTarget>();

    constructor(private readonly deps: WebhookDeps) {}

    /** A rejection of a signed delivery (it came from GitHub): audited in full. */
    private reject(code: ErrorCode, status: number, message: string, from: string, headers: WebhookHeaders, details: Record<string, unknown> = {}): never {
        this.deps.audit.append({ actor: { name: "github", via: "webhook" }, action: "webhook.rejected", from, result: code, details: { event: headers.event, delivery: headers.delivery, ...details } });
        throw new AppError(code, status, message, details);
    }

    /** Whether `rawBody` carries the webhook secret's signature (constant time). */
    isSigned(rawBody: Buffer | undefined, signature: string | undefined): boolean {
        return rawBody !== undefined && verifyGithubSignature(this.deps.config.secret, rawBody, signature);
    }

    /** An unsigned request: recorded as a sample (anyone can send them by the thousand), answered 401. */
    private rejectUnsigned(from: string, headers: WebhookHeaders): never {
        this.deps.refusals.record(401, { actor: { name: "anonymous", via: "webhook" }, action: "webhook.rejected", from, result: "BAD_SIGNATURE", details: { event: headers.event?.slice(0, 100), delivery: headers.delivery?.slice(0, 100) } });
        throw new AppError("BAD_SIGNATURE", 401, "X-Hub-Signature-256 does not match the body signed with the webhook secret.");
    }

    /** `signed`: the caller has checked the signature already (the route does, for its rate limit). */
    async handle(headers: WebhookHeaders, rawBody: Buffer | undefined, from: string, signed = this.isSigned(rawBody, headers.signature)): Promise<WebhookResult> {
        if (!signed) this.rejectUnsigned(from, headers);
        // Signed from here on: every rejection is GitHub's delivery, audited in full, and none
        // of them records the delivery, so a corrected redelivery is not refused as a replay.
        const event = headers.event;
        const delivery = headers.delivery;
        if (!event || !delivery || !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) this.reject("BAD_REQUEST", 400, "X-GitHub-Event and X-GitHub-Delivery are required.", from, headers);
        let payload: Record<string, any> = {};
        try {
            payload = JSON.parse(rawBody!.toString("utf8")) as Record<string, any>;
        } catch {
            this.reject("BAD_REQUEST", 400, "The webhook body is not JSON; configure the webhook with content type application/json.", from, headers);
        }
        const repo = String(payload.repository?.full_name ?? "");
        if (!this.deps.config.repositories.includes(repo)) {
            this.reject("REPOSITORY_NOT_ALLOWED", 403, `Repository "${repo}" is not in AUTOMATION_GITHUB_REPOSITORIES.`, from, headers, { repository: repo });
        }
        const isPullRequest = event === "pull_request" && PR_ACTIONS.has(String(payload.action));
        const pr = isPullRequest ? { number: Number(payload.pull_request?.number ?? payload.number), sha: String(payload.pull_request?.head?.sha ?? "") } : undefined;
        if (pr && (!Number.isInteger(pr.number) || pr.number < 1 || !/^[0-9a-f]{40}$/.test(pr.sha))) {
            this.reject("BAD_REQUEST", 400, "A pull_request delivery needs pull_request.number and pull_request.head.sha.", from, headers, { repository: repo });
        }
        const bodyHash = createHash("sha256").update(rawBody!).digest("hex");
        const seen = await this.deps.store.begin(delivery!, event!, bodyHash);
        if (seen === "handled") {
            this.reject("DUPLICATE_DELIVERY", 409, `Delivery ${delivery} (or one with the same signed body) was already processed.`, from, headers, { repository: repo });
        }
        // A redelivery of one some stack was refused for: the stacks that got their job keep it.
        const earlier = seen === "pending" ? await this.deps.store.stackJobs(bodyHash) : new Map<string, string>();
        const alreadyRan: { stack: string; job: string }[] = [];
        const sender = `github:${String(payload.sender?.login ?? "unknown")}`;
        // Authorised by the stack's policy (its github section), not by a role: the admission
        // guard checks that section at submit and again when the job leaves the queue.
        const principal: Principal = { name: sender, role: "operator", via: "webhook" };
        const jobs: Job[] = [];
        const refused: Refusal[] = [];
        // One stack refusing (needs repair, queue full, a policy file that does not validate)
        // must not cost the other stacks their run: the refusal is listed by name instead.
        const refuse = (stack: string, op: Op, e: unknown): undefined => {
            if (!(e instanceof AppError)) throw e;
            refused.push({ stack, op, code: e.code, message: e.message });
            return undefined;
        };
        const submit = async (stack: string, op: Op, options: JobOptions): Promise<Job | undefined> => {
            if (!(await this.deps.store.claimStack(bodyHash, stack))) {
                const job = earlier.get(stack);
                if (job) alreadyRan.push({ stack, job });
                // Without a job, another attempt of this delivery is submitting it right now.
                else refused.push({ stack, op, code: "IN_PROGRESS", message: `Another attempt of delivery ${delivery} is starting this stack's ${op}.` });
                return undefined;
            }
            try {
                const job = await this.deps.submit({ stack, op, options, principal });
                await this.deps.store.setStackJob(bodyHash, stack, job.id);
                jobs.push(job);
                return job;
            } catch (e) {
                await this.deps.store.releaseStack(bodyHash, stack);
                return refuse(stack, op, e);
            }
        };
        const policyOf = (stack: string, op: Op) => {
            try {
                return this.deps.policyOf(stack).github;
            } catch (e) {
                return refuse(stack, op, e);
            }
        };
        let ignored: string | undefined;
        const stacks = this.deps.stacks();
        if (pr) {
            const { number, sha } = pr;
            const headRepo = String(payload.pull_request?.head?.repo?.full_name ?? "");
            const previewed = stacks.filter((s) => policyOf(s, "preview")?.previewOnPullRequest);
            if (headRepo !== repo && !this.deps.config.allowForks) {
                // The fork's code would run here with this service's credentials.
                for (const stack of previewed) refused.push({ stack, op: "preview", code: "FORK_NOT_ALLOWED", message: `Pull request #${number} comes from the fork "${headRepo || "unknown"}"; its program is not previewed here (AUTOMATION_GITHUB_ALLOW_FORKS).` });
            } else {
                const pr: PrTarget = { repo, number, sha };
                for (const stack of previewed) {
                    const job = await submit(stack, "preview", { message: `PR #${number} ${sha.slice(0, 12)}`, source: { repository: repo, pullRequest: number, sha } });
                    if (job) this.awaiting.set(job.id, pr);
                }
            }
        } else if (event === "push" && !payload.deleted) {
            const ref = String(payload.ref ?? "");
            for (const stack of stacks) {
                const p = policyOf(stack, "update");
                if (p?.updateOnPush && ref === `refs/heads/${p.branch}`) {
                    await submit(stack, "update", { message: `push ${String(payload.after ?? "").slice(0, 12)}` });
                }
            }
            if (!jobs.length && !refused.length) ignored = `no stack updates on pushes to ${ref}`;
        } else {
            ignored = event === "ping" ? "pong" : `event ${event}${payload.action ? `/${payload.action}` : ""} triggers nothing`;
        }
        // Handled once no stack is left without its job; until then GitHub's redelivery may run the rest.
        if (!refused.length) await this.deps.store.markHandled(bodyHash);
        const earlierJobs = alreadyRan.length ? { alreadyRan } : {};
        this.deps.audit.append({
            actor: { name: sender, via: "webhook" },
            action: `webhook.${event}`,
            from,
            result: "ok",
            details: { delivery, repository: repo, jobs: jobs.map((j) => ({ id: j.id, stack: j.stack, op: j.op })), ...earlierJobs, ...(refused.length ? { refused } : {}), ...(ignored ? { ignored } : {}) },
        });
        return { status: jobs.length ? 202 : 200, body: { event, delivery, jobs: jobs.map((j) => ({ id: j.id, stack: j.stack, op: j.op })), ...earlierJobs, ...(refused.length ? { refused } : {}), ...(ignored ? { ignored } : {}) } };
    }

    /** Called for every finished job: posts the PR comment of previews this handler started. */
    async jobFinished(job: Job): Promise<void> {
        const pr = this.awaiting.get(job.id);
        if (!pr) return;
        this.awaiting.delete(job.id);
        if (!this.deps.github) return;
        try {
            const body = this.deps.redact(formatPreviewComment({ job, log: (await this.deps.jobLog?.(job.id)) ?? [], sha: pr.sha }));
            const marker = markerFor(job.stack);
            const result = await upsertComments(this.deps.github, pr.repo, pr.number, marker, splitComment(body, marker));
            this.deps.audit.append({ actor: { name: "github", via: "webhook" }, action: "webhook.comment", from: "service", result: "ok", stack: job.stack, jobId: job.id, details: { repository: pr.repo, pr: pr.number, ...result } });
        } catch (e) {
            this.deps.onError?.(e, { jobId: job.id, repository: pr.repo, pr: pr.number });
            this.deps.audit.append({ actor: { name: "github", via: "webhook" }, action: "webhook.comment", from: "service", result: "failed", stack: job.stack, jobId: job.id, details: { repository: pr.repo, pr: pr.number } });
        }
    }
}
