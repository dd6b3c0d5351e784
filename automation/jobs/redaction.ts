import { createRedactor, type Redactor } from "../security/redact";

/**
 * One redactor per job: the service's credentials plus the job's own secret config values and
 * secret outputs, which the worker reports before anything else. Every string the job service
 * writes to the store passes through the job's redactor, so the store never holds a secret.
 */
export class JobRedactors {
    private readonly byJob = new Map<string, Redactor>();
    private readonly base: Redactor;

    constructor(private readonly credentials: Readonly<Record<string, string | undefined>>) {
        this.base = createRedactor({ env: credentials });
    }

    of(jobId: string): Redactor {
        return this.byJob.get(jobId) ?? this.base;
    }

    learn(jobId: string, secrets: readonly string[]): void {
        this.byJob.set(jobId, this.of(jobId).extend(secrets.flatMap(secretLeaves)));
    }

    forget(jobId: string): void {
        this.byJob.delete(jobId);
    }
}

/**
 * A secret and, when it is structured (`pulumi config set --secret --path` makes the whole
 * object secret, and the CLI reports it as JSON), each string and number inside it: the program
 * may print one leaf alone, which the whole JSON text would never match.
 */
export function secretLeaves(secret: string): string[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(secret);
    } catch {
        return [secret];
    }
    if (!parsed || typeof parsed !== "object") return [secret];
    const leaves: string[] = [secret];
    const walk = (v: unknown): void => {
        if (typeof v === "string") leaves.push(v);
        else if (typeof v === "number") leaves.push(String(v));
        else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(parsed);
    return leaves;
}
