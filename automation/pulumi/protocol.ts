// Messages between the service and a job's worker process (Node IPC, JSON-serialisable).
// Type-only module: the worker imports it with `import type`, so it costs nothing at run time.
import type { JobOptions, Op } from "../jobs/types";

export interface WorkerSpec {
    jobId: string;
    stack: string;
    op: Op;
    options: JobOptions;
    projectDir: string;
    /** Directory holding the `pulumi` binary. */
    pulumiBin: string;
    policyPacks: string[];
    /** The stack exists in the backend (an earlier job ran on it), so selecting it can be skipped. */
    stackKnown: boolean;
    /**
     * The job's update plan: a preview in mode "plan" saves one here; an update applying such a
     * preview runs with `--plan` on it, so the engine refuses anything the preview did not show.
     */
    planFile?: string;
    /**
     * Where the job's copy of the stack's config goes, and the copy earlier jobs left
     * (pulumi/stackConfig.ts): the CLI runs on the copy, so nothing it writes lands in the
     * project's tracked files. The parent writes the copy before the worker starts; for a
     * pull request, `dir` lies outside its worktree and `checkoutRoot` confines what is read.
     */
    stackConfig: { dir: string; keptFile: string; checkoutRoot?: string };
    /**
     * With several instances: a pause of this worker longer than this (its instance is then given
     * up by the others, and another job may own the stack) makes it kill its CLI and leave.
     */
    pauseLimitMs?: number;
    /** Run the worker inside this bubblewrap sandbox (pull-request previews; see pulumi/sandbox.ts). */
    sandbox?: { bwrap: string; args: string[] };
    /**
     * Set in the worker's environment before its CLI starts: the job's own AWS credentials
     * endpoint (pulumi/stackRoles.ts), so a warm worker serves any stack's job.
     */
    env?: Record<string, string>;
}

export type ParentMessage = { type: "start"; spec: WorkerSpec } | { type: "cancel" };

export type WorkerMessage =
    /** Secret config values and secret outputs: the parent teaches them to the job's redactor before anything else is stored. */
    | { type: "secrets"; values: string[] }
    | { type: "event"; event: Record<string, unknown> }
    | { type: "output"; line: string }
    | { type: "result"; outputs?: Record<string, unknown> }
    | { type: "error"; name: string; message: string };
