import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * How a pull request's preview is confined. Its program is code from outside the service's
 * trust (anyone who can open a pull request on an allowed repository), so it runs in a
 * bubblewrap sandbox:
 * - the whole file system read-only, so it can change nothing of the service's (its checkout,
 *   its `node_modules`, the state, the policies);
 * - the service's data dir (tokens, job and approval stores, audit log, passphrase file, git
 *   mirrors, backups) and the home directory hidden behind empty, read-only directories, with
 *   only the Pulumi CLI (and plugins) and, for a `file://` backend, the state brought back,
 *   read-only;
 * - its own checkout writable (a throwaway worktree), a private /tmp;
 * - its own PID namespace, so it cannot see the service's processes or read their environment;
 *   IPC and UTS namespaces of its own, every capability dropped, a new session (no terminal
 *   injection), and it dies with the service;
 * - no network unless the configuration grants it (a preview of a real cloud needs it);
 * - an environment of only what a preview needs (below), never the service's.
 */
export interface SandboxSettings {
    /** Directories hidden behind an empty, read-only one: the data dir, the home directory. `/` is never hidden. */
    hide: readonly string[];
    /**
     * Single files shown empty (`/dev/null`): the tokens file when it lives outside the data
     * dir. A file, not its directory: that directory may be `/etc`, which the program needs.
     */
    mask?: readonly string[];
    /**
     * Paths shown read-only even inside a hidden one: the service's code and `node_modules`
     * (the worker and the program's dependencies), the CLI and its plugins, a `file://` state.
     */
    readOnly: readonly string[];
    /** The Pulumi plugins directory (`~/.pulumi/plugins`), shown read-only in the sandbox's home. */
    plugins?: string;
    /** Let the preview reach the network (and the service's loopback). @default false */
    network: boolean;
}

/** The sandbox's home: scratch space in its private /tmp, where the CLI keeps its workspace files. */
export const SANDBOX_HOME = "/tmp/home";

/**
 * An empty, read-only file to show in place of a masked one. Not /dev/null: bubblewrap mounts
 * binds `nodev`, so a device node there cannot even be opened.
 */
function emptyFile(): string {
    const file = path.join(os.tmpdir(), "todobackend-sandbox-empty");
    if (!fs.existsSync(file) || fs.statSync(file).size !== 0) fs.writeFileSync(file, "", { mode: 0o444 });
    return file;
}

const depth = (p: string) => path.resolve(p).split(path.sep).filter(Boolean).length;

/**
 * The bubblewrap arguments, up to and excluding the `--` before the command, for one checkout.
 * Mounts apply shallowest first, so a deeper rule wins over the one it sits in: the data dir
 * inside the service's (read-only) project is hidden, the state inside the data dir shown again,
 * the checkout inside it writable.
 */
export function sandboxArgs(settings: SandboxSettings, checkoutRoot: string): string[] {
    const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];
    const mounts: [string, string][] = [
        ...settings.hide.map((p) => path.resolve(p)).filter((p) => p !== path.parse(p).root).map((p): [string, string] => ["--tmpfs", p]),
        ...settings.readOnly.filter((p) => fs.existsSync(p)).map((p): [string, string] => ["--ro-bind", path.resolve(p)]),
        ["--bind", path.resolve(checkoutRoot)],
    ];
    // Stable sort: at one depth, hides come before what is shown again.
    mounts.sort((a, b) => depth(a[1]) - depth(b[1]));
    for (const [kind, p] of mounts) args.push(kind, p, ...(kind === "--tmpfs" ? [] : [p]));
    // Masks go last: a file is deeper than any directory it sits in. One inside a hidden
    // directory is hidden already (and a mount point there would bring its name back).
    const hidden = mounts.filter(([kind]) => kind === "--tmpfs").map(([, p]) => p);
    const masks = (settings.mask ?? []).map((f) => path.resolve(f)).filter((f) => fs.existsSync(f) && !hidden.some((h) => f.startsWith(h + path.sep)));
    for (const f of masks) args.push("--ro-bind", emptyFile(), f);
    if (settings.plugins && fs.existsSync(settings.plugins)) args.push("--ro-bind", path.resolve(settings.plugins), path.join(SANDBOX_HOME, ".pulumi", "plugins"));
    // The empty stand-ins become read-only once everything inside them is mounted.
    for (const [kind, p] of mounts) if (kind === "--tmpfs") args.push("--remount-ro", p);
    args.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", "--cap-drop", "ALL");
    if (!settings.network) args.push("--unshare-net");
    args.push("--chdir", checkoutRoot);
    return args;
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
