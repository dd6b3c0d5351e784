// The service reads a few files of a pull request's worktree before the sandbox starts (its
// Pulumi.yaml, its stack file, its lockfiles), and every name in that worktree is the pull
// request's to choose: a committed symlink would make a plain `readFileSync` read (or a
// `writeFileSync` overwrite) whatever file it points at, outside the worktree. So nothing here
// follows a link: each component below the root is lstat'ed and must be a real directory, the
// file is opened with O_NOFOLLOW and must be the regular file lstat saw, and its size is bounded.
import * as fs from "node:fs";
import * as path from "node:path";
import { AppError } from "../errors";

/** A file of a pull request the service refuses to read or write, naming the path and why. */
export const unsafeCheckout = (relative: string, why: string) =>
    new AppError("UNSAFE_CHECKOUT", 422, `The pull request's "${relative}" ${why}; the service reads only regular files inside the checkout, never through a symlink.`, {
        path: relative,
    });

/** Largest file of a checkout the service reads itself (stack and project files are a few KiB). */
export const MAX_CONFINED_BYTES = 1024 * 1024;

/**
 * The absolute path of `relative` inside `root`, having checked that it stays inside (no
 * absolute path, no `..` out of it) and that no component of it below `root` is a symlink.
 * Returns undefined when something on the way does not exist. `kind` is what the last
 * component must be when it exists.
 */
export function confinedPath(root: string, relative: string, kind: "file" | "dir"): string | undefined {
    const normal = path.normalize(relative);
    if (path.isAbsolute(relative) || normal === ".." || normal.startsWith(`..${path.sep}`)) throw unsafeCheckout(relative, "points outside the checkout");
    const parts = normal === "." ? [] : normal.split(path.sep).filter(Boolean);
    let at = path.resolve(root);
    for (const [i, part] of parts.entries()) {
        at = path.join(at, part);
        let st: fs.Stats;
        try {
            st = fs.lstatSync(at);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
            throw e;
        }
        const shown = parts.slice(0, i + 1).join("/");
        if (st.isSymbolicLink()) throw unsafeCheckout(shown, "is a symbolic link");
        const last = i === parts.length - 1;
        if (!last && !st.isDirectory()) return undefined;
        if (last && kind === "dir" && !st.isDirectory()) throw unsafeCheckout(shown, "is not a directory");
        if (last && kind === "file" && !st.isFile()) throw unsafeCheckout(shown, "is not a regular file");
    }
    return at;
}

/**
 * The text of `relative` inside `root`, or undefined when it does not exist. Refuses a symlink
 * anywhere on the way, anything but a regular file, a hard link to a file elsewhere (its link
 * count above 1: git never makes one, so it came from somewhere else) and a file larger than
 * `MAX_CONFINED_BYTES`.
 */
export function readConfined(root: string, relative: string): string | undefined {
    const file = confinedPath(root, relative, "file");
    if (!file) return undefined;
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ELOOP") throw unsafeCheckout(relative, "is a symbolic link");
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
    try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw unsafeCheckout(relative, "is not a regular file");
        if (st.nlink > 1) throw unsafeCheckout(relative, "is a hard link to another file");
        if (st.size > MAX_CONFINED_BYTES) throw unsafeCheckout(relative, `is larger than ${MAX_CONFINED_BYTES} bytes`);
        const buf = Buffer.alloc(st.size);
        let read = 0;
        while (read < buf.length) {
            const n = fs.readSync(fd, buf, read, buf.length - read, read);
            if (n === 0) break;
            read += n;
        }
        return buf.subarray(0, read).toString("utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Writes `text` to `file` (mode 0600) without following a symlink at its name: a link there
 * fails the write (ELOOP) instead of redirecting it.
 */
export function writeNoFollow(file: string, text: string): void {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
    try {
        fs.writeSync(fd, text);
    } finally {
        fs.closeSync(fd);
    }
}
