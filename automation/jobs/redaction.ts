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
        this.byJob.set(jobId, this.of(jobId).extend(secrets));
    }

    forget(jobId: string): void {
        this.byJob.delete(jobId);
    }
}
