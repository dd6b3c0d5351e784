import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { AppError } from "../errors";
import type { PullRequestSource } from "../jobs/types";
import { confinedPath, readConfined } from "./confined";
import { makeDirs } from "../lib/dirs";

const run = promisify(execFile);

export interface CheckoutsOptions {
    /** Where the mirrors (`git/`) and the per-job worktrees (`checkouts/`) live: the service's data dir. */
    dataDir: string;
    /** The service's own project, whose installed `node_modules` a checkout borrows. */
    projectDir: string;
    /**
     * How to reach a repository; `{repository}` becomes `owner/name`.
     * @default "https://github.com/{repository}.git"
     */
    urlTemplate?: string;
    /** The project's directory inside the repository. @default "." */
    projectPath?: string;
    /** Token for https fetches of private repositories; sent as a header through git's environment. */
    token?: string;
    /** @default 300000 (5 minutes per git command) */
    timeoutMs?: number;
    /**
     * How often, at most, a mirror that no job is using drops the commits it fetched
     * (`git gc --prune=now`), so a long-running service does not keep every PR head it ever
     * previewed; a head previewed again within the interval is not fetched again.
     * @default 3600000 (1 hour)
     */
    gcIntervalMs?: number;
    /** Largest head checked out, by the sum of its files' sizes (a pull request could fill the disk). @default 200 MiB */
    maxBytes?: number;
}

/** A pull request's head checked out for one job; `release` removes it. */
export interface Checkout {
    /** The job's worktree: a directory a sandboxed pull-request preview may write. */
    root: string;
    /** The Pulumi project inside the worktree: the job's workspace directory. */
    projectDir: string;
    /**
     * The job's own directory beside the worktree, never inside it: the service writes the
     * stack's config copy there, where no name is the pull request's to choose.
     */
    configDir: string;
    release(): Promise<void>;
}

/** What the job service needs to run a job on a commit other than the service's own checkout. */
export interface SourceCheckouts {
    prepare(jobId: string, source: PullRequestSource, log: (line: string) => void): Promise<Checkout>;
    /** At start-up: removes checkouts a dead process left; returns how many. */
    pruneLeftovers?(): Promise<number>;
}

export const checkoutFailed = (message: string, details?: Record<string, unknown>) => new AppError("CHECKOUT_FAILED", 502, message, details);

const SHA = /^[0-9a-f]{40}$/;
/** A GitHub `owner/name`. */
export const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** True when `projectPath` stays inside the repository (relative, no leading `..`). */
export const isInsideRepository = (projectPath: string): boolean => !path.isAbsolute(projectPath) && path.normalize(projectPath).split(path.sep)[0] !== "..";
/** Files whose difference means the PR's dependencies are not the ones installed here. */
const LOCKFILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml"];

/**
 * The environment of every git command: never prompt, ignore the machine's and user's git
 * config (hooks, credential helpers, url rewrites), and pass the token as an HTTP header
 * through GIT_CONFIG_* so it appears in no command line, URL or remote config.
 */
export function gitEnvironment(url: string, token: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: base.PATH, HOME: base.HOME, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
    if (token && url.startsWith("https://")) {
        env.GIT_CONFIG_COUNT = "1";
        env.GIT_CONFIG_KEY_0 = "http.extraHeader";
        env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
    }
    return env;
}

/** The git URL of `repository` from the template. */
export function repositoryUrl(template: string, repository: string): string {
    if (!REPOSITORY.test(repository)) throw checkoutFailed(`"${repository}" is not an owner/name repository.`);
    return template.replaceAll("{repository}", repository);
}

/**
 * Pull-request heads as git worktrees, one per job, so a webhook preview runs the code the PR
 * proposes rather than whatever the service has checked out. Each repository has one bare
 * mirror under `<dataDir>/git` that fetches only the commits asked for (depth 1); each job gets
 * `<dataDir>/checkouts/<jobId>`, removed when the job ends. Fetches into one mirror are
 * serialised (git locks its refs), different repositories fetch in parallel.
 */
export class Checkouts implements SourceCheckouts {
    private readonly urlTemplate: string;
    private readonly projectPath: string;
    private readonly timeoutMs: number;
    private readonly gcIntervalMs: number;
    private readonly mirrorLocks = new Map<string, Promise<unknown>>();
    /** When each mirror last dropped its commits (or was first used by this process). */
    private readonly lastGc = new Map<string, number>();

    constructor(private readonly options: CheckoutsOptions) {
        this.urlTemplate = options.urlTemplate ?? "https://github.com/{repository}.git";
        this.projectPath = options.projectPath ?? ".";
        this.timeoutMs = options.timeoutMs ?? 300_000;
        this.gcIntervalMs = options.gcIntervalMs ?? 3_600_000;
        if (!isInsideRepository(this.projectPath)) throw new Error(`projectPath must be a path inside the repository (got "${this.projectPath}")`);
    }

    get checkoutsDir(): string {
        return path.join(this.options.dataDir, "checkouts");
    }

    private mirrorOf(repository: string): string {
        return path.join(this.options.dataDir, "git", `${repository.replace("/", "__")}.git`);
    }

    private async git(args: string[], url: string): Promise<string> {
        const { stdout } = await run("git", args, { env: gitEnvironment(url, this.options.token), timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024 });
        return stdout.trim();
    }

    /** Runs `work` after every earlier piece of work on the same mirror has ended. */
    private serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
        const previous = this.mirrorLocks.get(key) ?? Promise.resolve();
        const next = previous.catch(() => undefined).then(work);
        this.mirrorLocks.set(key, next);
        void next.finally(() => this.mirrorLocks.get(key) === next && this.mirrorLocks.delete(key)).catch(() => undefined);
        return next;
    }

    /** Fetches `source.sha` (or the PR's head ref, should the host refuse a bare sha) into the mirror. */
    private async fetch(source: PullRequestSource, url: string, log: (line: string) => void): Promise<string> {
        const mirror = this.mirrorOf(source.repository);
        return this.serialised(mirror, async () => {
            if (!this.lastGc.has(mirror)) this.lastGc.set(mirror, Date.now());
            if (!fs.existsSync(path.join(mirror, "HEAD"))) {
                makeDirs(mirror);
                await this.git(["init", "--quiet", "--bare", mirror], url);
            }
            const has = () => this.git(["--git-dir", mirror, "cat-file", "-e", `${source.sha}^{commit}`], url).then(() => true, () => false);
            if (await has()) return mirror;
            log(`fetching ${source.sha.slice(0, 12)} of ${source.repository} (pull request #${source.pullRequest})`);
            try {
                await this.git(["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--depth=1", "--", url, source.sha], url);
            } catch {
                await this.git(["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--depth=1", "--", url, `refs/pull/${source.pullRequest}/head`], url).catch(() => undefined);
            }
            if (!(await has())) {
                throw checkoutFailed(
                    `Commit ${source.sha.slice(0, 12)} of pull request #${source.pullRequest} could not be fetched from ${source.repository}; it may have been force-pushed away (a newer delivery previews the new head), or the service cannot read the repository (AUTOMATION_GITHUB_TOKEN, AUTOMATION_GITHUB_GIT_URL).`,
                    { repository: source.repository, sha: source.sha },
                );
            }
            return mirror;
        });
    }

    async prepare(jobId: string, source: PullRequestSource, log: (line: string) => void): Promise<Checkout> {
        if (!SHA.test(source.sha)) throw checkoutFailed(`"${source.sha}" is not a full commit sha.`);
        if (!Number.isInteger(source.pullRequest) || source.pullRequest < 1) throw checkoutFailed(`"${source.pullRequest}" is not a pull request number.`);
        const url = repositoryUrl(this.urlTemplate, source.repository);
        const mirror = await this.fetch(source, url, log);
        const dir = path.join(this.checkoutsDir, jobId);
        const configDir = `${dir}.config`;
        makeDirs(this.checkoutsDir, 0o700);
        // Serialised with fetches and adds: a prune must not meet a worktree being added. The
        // worktree is deleted before git looks at it: the sandboxed program could write its
        // `.git` (a config with hooks), and `rmSync` follows no link it finds in there.
        const release = () =>
            this.serialised(mirror, async () => {
                fs.rmSync(dir, { recursive: true, force: true });
                fs.rmSync(configDir, { recursive: true, force: true });
                await this.git(["--git-dir", mirror, "worktree", "prune"], url).catch(() => undefined);
                await this.dropUnusedCommits(mirror);
            });
        try {
            await this.checkSize(mirror, source, url);
            await this.serialised(mirror, () => this.git(["--git-dir", mirror, "worktree", "add", "--quiet", "--detach", "--force", dir, source.sha], url));
            fs.mkdirSync(configDir, { mode: 0o700 });
            // The project's directory, like every name the service uses in the worktree, must be a
            // real directory inside it, not a link the pull request committed.
            const projectDir = confinedPath(dir, this.projectPath, "dir");
            const hasProject = projectDir !== undefined && ["Pulumi.yaml", "Pulumi.yml"].some((f) => confinedPath(dir, path.join(this.projectPath, f), "file") !== undefined);
            if (!projectDir || !hasProject) {
                throw checkoutFailed(`Pull request #${source.pullRequest} at ${source.sha.slice(0, 12)} has no Pulumi.yaml in "${this.projectPath}"; set AUTOMATION_GITHUB_PROJECT_PATH to the project's directory in the repository.`);
            }
            this.borrowDependencies(dir, projectDir, log);
            log(`previewing pull request #${source.pullRequest} of ${source.repository} at ${source.sha}`);
            return { root: dir, projectDir, configDir, release };
        } catch (e) {
            await release();
            if (e instanceof AppError) throw e;
            throw checkoutFailed(`Checking out ${source.sha.slice(0, 12)} of ${source.repository} failed.`, { repository: source.repository, sha: source.sha });
        }
    }

    /** Refuses a head whose files would take more than `maxBytes` on disk, before any is written. */
    private async checkSize(mirror: string, source: PullRequestSource, url: string): Promise<void> {
        const max = this.options.maxBytes ?? 200 * 1024 * 1024;
        const listing = await this.git(["--git-dir", mirror, "ls-tree", "-r", "-l", "--full-tree", source.sha], url);
        let total = 0;
        for (const line of listing.split("\n")) {
            const size = Number(/^\d+ blob [0-9a-f]+\s+(\d+)\t/.exec(line)?.[1] ?? 0);
            total += size;
        }
        if (total > max) {
            throw new AppError("CHECKOUT_TOO_LARGE", 422, `Pull request #${source.pullRequest} at ${source.sha.slice(0, 12)} holds ${total} bytes of files, more than ${max} (AUTOMATION_PR_CHECKOUT_MAX_BYTES); it is not checked out.`, {
                bytes: total,
                maxBytes: max,
            });
        }
    }

    /**
     * Fetches keep no refs, so once no worktree holds a commit `gc --prune=now` removes it.
     * Runs inside the mirror's serialisation, so it never meets a fetch or an add.
     */
    private async dropUnusedCommits(mirror: string): Promise<void> {
        if (Date.now() - (this.lastGc.get(mirror) ?? 0) < this.gcIntervalMs) return;
        const worktrees = await this.git(["--git-dir", mirror, "worktree", "list", "--porcelain"], "").catch(() => "");
        // The bare mirror itself is listed first; any other entry is a job still running.
        if (worktrees.split("\n").filter((l) => l.startsWith("worktree ")).length > 1) return;
        this.lastGc.set(mirror, Date.now());
        await this.git(["--git-dir", mirror, "gc", "--quiet", "--prune=now"], "").catch(() => undefined);
    }

    /**
     * The PR's program runs with the dependencies installed for the service (installing the
     * PR's would run its install scripts and need the registry): whatever the PR has at
     * `node_modules` (a directory, a file, a link) is removed, without following it, and
     * replaced by a link to them. A PR that changes the lockfile is still previewed, with a
     * line in the job log saying so; its lockfiles are read only inside the worktree.
     */
    private borrowDependencies(root: string, projectDir: string, log: (line: string) => void): void {
        const installed = path.join(this.options.projectDir, "node_modules");
        const target = path.join(projectDir, "node_modules");
        fs.rmSync(target, { recursive: true, force: true });
        if (fs.existsSync(installed)) fs.symlinkSync(installed, target, "dir");
        const relative = path.relative(root, projectDir);
        const changed = LOCKFILES.filter((f) => {
            const ours = path.join(this.options.projectDir, f);
            const mine = fs.existsSync(ours) ? fs.readFileSync(ours, "utf8") : undefined;
            let theirs: string | undefined;
            try {
                theirs = readConfined(root, path.join(relative, f));
            } catch {
                return true; // a link or a special file where a lockfile goes: not ours, whatever it is
            }
            return mine !== theirs;
        });
        if (changed.length) log(`warning: the pull request changes ${changed.join(", ")}; it is previewed with the dependencies installed for the service`);
    }

    /** Removes worktrees a previous process left behind (it died mid-job) and the commits they held. */
    async pruneLeftovers(): Promise<number> {
        if (!fs.existsSync(this.checkoutsDir)) return 0;
        const left = fs.readdirSync(this.checkoutsDir);
        for (const d of left) fs.rmSync(path.join(this.checkoutsDir, d), { recursive: true, force: true });
        const worktrees = left.filter((d) => !d.endsWith(".config"));
        const mirrors = path.join(this.options.dataDir, "git");
        if (fs.existsSync(mirrors)) {
            for (const m of fs.readdirSync(mirrors)) {
                const mirror = path.join(mirrors, m);
                await this.git(["--git-dir", mirror, "worktree", "prune"], "").catch(() => undefined);
                this.lastGc.delete(mirror);
                await this.dropUnusedCommits(mirror);
            }
        }
        return worktrees.length;
    }
}
