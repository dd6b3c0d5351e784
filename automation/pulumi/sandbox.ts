import * as fs from "node:fs";
import * as path from "node:path";

/**
 * How a pull request's preview is confined. Its program is code from outside the service's
 * trust (anyone who can open a pull request on an allowed repository), so every CLI command of
 * the job runs in a bubblewrap sandbox (the job's worker, the service's own code holding the
 * IPC channel, stays outside and starts them: pulumi/worker.ts) built as an allow-list: the
 * sandbox's root is an empty file system, and only what a preview needs is brought in, each at
 * its own path:
 * - read-only: the operating system's programs and libraries (`/usr` and the `/bin`, `/lib`
 *   links into it), a handful of `/etc` files that hold no secret (certificates, name
 *   resolution, time zone), Node and the installed `node_modules`, the Pulumi CLI and its
 *   plugins, the policy packs, the previewed stack's own state (a `file://` backend), the job's
 *   worktree and its config copy;
 * - writable: a private, size-bounded `/tmp` (the sandbox's HOME and PULUMI_HOME) and the one
 *   event log file the worker reads;
 * - its own PID namespace, so it cannot see the service's processes, the worker's included;
 *   IPC, UTS and cgroup namespaces of its own, every capability dropped, a new session (no
 *   terminal injection), and it dies with its worker;
 * - no network, which also takes away abstract unix sockets, unless the configuration grants
 *   it (a preview of a real cloud needs it);
 * - an environment of only what a preview needs (below), never the service's.
 * What the host gains later (a new socket directory, a secret file, a mounted volume) is not
 * in the sandbox unless it is added here.
 */
export interface SandboxSettings {
    /** Host paths shown read-only at the same place (missing ones are left out). */
    readOnly: readonly string[];
    /** Host paths shown writable at the same place. */
    writable: readonly string[];
    /** The Pulumi plugins directory (`~/.pulumi/plugins`), shown read-only in the sandbox's home. */
    plugins?: string;
    /** Let the preview reach the network (and the host's loopback and abstract sockets). @default false */
    network: boolean;
    /** Size of the private /tmp, the only place the sandbox can fill. @default 512 MiB */
    tmpBytes?: number;
}

/** The sandbox's home: scratch space in its private /tmp, where the CLI keeps its workspace files. */
export const SANDBOX_HOME = "/tmp/home";

/**
 * What every sandbox shows of the operating system, read-only: its programs and libraries, and
 * the `/etc` files a program reads to resolve names, check certificates and tell the time.
 * Deliberately not `/etc` itself (it holds `ssl/private`, `shadow`, credentials of tools), nor
 * `/run`, `/var`, `/home`, `/srv`, `/mnt`, `/opt` or `/sys`.
 */
export const SYSTEM_PATHS = ["/usr", "/etc/ssl/certs", "/etc/ca-certificates", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/localtime", "/etc/resolv.conf", "/etc/passwd", "/etc/group"] as const;

const DEFAULT_TMP_BYTES = 512 * 1024 * 1024;

/** Top-level names that are, on merged-/usr systems, links into `/usr`; elsewhere directories. */
const USR_LINKS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] as const;

const depth = (p: string) => path.resolve(p).split(path.sep).filter(Boolean).length;

/**
 * The bubblewrap arguments, up to and excluding the `--` before the command, for one job.
 * Mounts apply shallowest first, so a path shown inside another (a worktree inside a data dir
 * under `/tmp`) is mounted after it; the root is made read-only once everything is in place
 * (`--remount-ro /`, before which the worker adds the bind of each command's event log).
 */
export function sandboxArgs(settings: SandboxSettings): string[] {
    const args = ["--tmpfs", "/"];
    for (const link of USR_LINKS) {
        let st: fs.Stats;
        try {
            st = fs.lstatSync(link);
        } catch {
            continue;
        }
        if (st.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(link), link);
        else if (st.isDirectory()) args.push("--ro-bind", link, link);
    }
    const mounts: [kind: "--ro-bind" | "--bind" | "--tmpfs" | "--dev" | "--proc", at: string][] = [
        ["--dev", "/dev"],
        ["--proc", "/proc"],
        ["--tmpfs", "/tmp"],
        ...[...SYSTEM_PATHS, ...settings.readOnly].filter((p) => fs.existsSync(p)).map((p): ["--ro-bind", string] => ["--ro-bind", path.resolve(p)]),
        ...settings.writable.map((p): ["--bind", string] => ["--bind", path.resolve(p)]),
    ];
    // Stable sort: at one depth, the order above (system, read-only, writable) holds.
    mounts.sort((a, b) => depth(a[1]) - depth(b[1]));
    const seen = new Set<string>();
    for (const [kind, p] of mounts) {
        if (seen.has(p)) continue;
        seen.add(p);
        if (p === "/tmp") args.push("--size", String(settings.tmpBytes ?? DEFAULT_TMP_BYTES));
        args.push(kind, ...(kind === "--ro-bind" || kind === "--bind" ? [p, p] : [p]));
    }
    if (settings.plugins && fs.existsSync(settings.plugins)) args.push("--ro-bind", path.resolve(settings.plugins), path.join(SANDBOX_HOME, ".pulumi", "plugins"));
    args.push("--remount-ro", "/");
    args.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL");
    if (!settings.network) args.push("--unshare-net");
    return args;
}

/** Where what a preview runs lives on the host: the inputs of `previewMounts`. */
export interface PreviewHost {
    /** The service's own checkout, whose installed `node_modules` the program runs with. */
    repoRoot: string;
    /** The project the service operates on, whose `node_modules` a pull request's worktree borrows. */
    projectDir: string;
    /** The project's name (its Pulumi.yaml), under which a `file://` backend keeps its stacks. */
    project: string;
    /** The Node binary the language host runs the program with (`process.execPath`). */
    execPath: string;
    /** Directory of the Pulumi CLI (and our language host). */
    pulumiBin: string;
    policyPacks: readonly string[];
    /** A `file://` backend's directory; undefined for other backends. */
    backendDir?: string;
    /** The service's home directory, whose `.pulumi/plugins` the CLI loads plugins from. */
    home: string;
}

/**
 * The state a preview of `stack` reads from a `file://` backend: the backend's metadata and that
 * stack's checkpoint, never the others' (their secrets open with the same passphrase).
 */
export function stackStateFiles(backendDir: string, project: string, stack: string): string[] {
    const stacks = path.join(backendDir, ".pulumi", "stacks", project);
    return [path.join(backendDir, ".pulumi", "meta.yaml"), ...["", ".gz", ".bak", ".gz.bak"].map((ext) => path.join(stacks, `${stack}.json${ext}`))];
}

/**
 * The allow-list of one pull-request preview: what the CLI, the language host, the program and
 * the policy packs read, all read-only; the program can write only its private /tmp.
 */
export function previewMounts(host: PreviewHost, job: { root: string; configDir: string; stack: string }, network: boolean): SandboxSettings {
    return {
        readOnly: [
            path.join(host.repoRoot, "node_modules"),
            path.join(host.projectDir, "node_modules"),
            path.dirname(host.execPath),
            host.pulumiBin,
            ...host.policyPacks,
            ...(host.backendDir ? stackStateFiles(host.backendDir, host.project, job.stack) : []),
            job.root,
            job.configDir,
        ],
        writable: [],
        plugins: path.join(host.home, ".pulumi", "plugins"),
        network,
    };
}

/** What a pull-request preview's worker gets besides the Pulumi variables: nothing of the service's. */
const BASE_VARIABLES = ["PATH", "LANG", "LC_ALL", "TZ"];

/**
 * The environment of a sandboxed preview: PATH and locale, a scratch HOME, the Pulumi backend
 * and passphrase (the preview must read and decrypt the stack's state), and the variables the
 * configuration names (`AUTOMATION_PR_PREVIEW_ENV`, e.g. read-only cloud credentials); never the
 * service's credentials or its own settings.
 */
export function sandboxEnvironment(workerEnv: Readonly<NodeJS.ProcessEnv>, allowed: readonly string[]): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { HOME: SANDBOX_HOME };
    for (const key of [...BASE_VARIABLES, ...allowed]) if (workerEnv[key] !== undefined) env[key] = workerEnv[key];
    for (const [key, value] of Object.entries(workerEnv)) if (key.startsWith("PULUMI_")) env[key] = value;
    // The CLI finds its home through the user database, not HOME: name it, in the scratch home.
    env.PULUMI_HOME = path.join(SANDBOX_HOME, ".pulumi");
    return env;
}

/** The bubblewrap binary on PATH, or undefined. */
export function findBwrap(pathVariable = process.env.PATH ?? ""): string | undefined {
    for (const dir of pathVariable.split(path.delimiter)) {
        const candidate = path.join(dir, "bwrap");
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            /* not here */
        }
    }
    return undefined;
}
