// Which role a person signed in through the identity provider gets: from the groups (or any
// list claim) the provider says they are in, through a file the operator writes.
import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ROLES, type Role } from "./roles";
import { fileStamp } from "./tokens";

/** role → the groups whose members get it; `"*"` is everyone the provider signs in. */
export type RoleMap = Readonly<Partial<Record<Role, readonly string[]>>>;

const RoleMapFile = z.strictObject(
    Object.fromEntries(ROLES.map((r) => [r, z.array(z.string().trim().min(1, "a group name must not be empty")).optional()])) as Record<Role, z.ZodOptional<z.ZodArray<z.ZodString>>>,
);

/** Parses a role map's text (YAML or JSON); the error names the file, the entry and the shape expected. */
export function parseRoleMap(text: string, file: string): RoleMap {
    let raw: unknown;
    try {
        raw = parseYaml(text);
    } catch (e) {
        throw new Error(`${file} is not valid YAML or JSON (${(e as Error).message})`);
    }
    const parsed = RoleMapFile.safeParse(raw ?? {});
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}; expected a role (${ROLES.join(", ")}) → a list of groups, e.g. admin: [platform-admins]`);
    }
    const map = parsed.data as RoleMap;
    if (!ROLES.some((r) => (map[r]?.length ?? 0) > 0)) throw new Error(`${file} gives no role to any group; signing in would let nobody in. List at least one, e.g. viewer: ["*"]`);
    return map;
}

export function readRoleMap(file: string): RoleMap {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); write the role map there`);
    }
    return parseRoleMap(text, file);
}

/**
 * The highest role any of `groups` is given, or undefined. A claim that is a single string
 * counts as one group; anything else (absent, numbers, objects) as none, so a provider that
 * stops sending the claim takes roles away rather than granting them.
 */
export function roleFor(claim: unknown, map: RoleMap): Role | undefined {
    const groups = new Set(typeof claim === "string" ? [claim] : Array.isArray(claim) ? claim.filter((g): g is string => typeof g === "string") : []);
    for (const role of [...ROLES].reverse()) {
        if ((map[role] ?? []).some((g) => g === "*" || groups.has(g))) return role;
    }
    return undefined;
}

/**
 * The map in `file`, re-read when the file changes (inode, mtime, size), so a role given or
 * taken applies without a restart; a file that becomes invalid keeps the last good map.
 */
export function fileRoleMap(file: string, onInvalid: (e: Error) => void = () => undefined): () => RoleMap {
    let map = readRoleMap(file);
    let seen = fileStamp(file);
    return () => {
        const now = fileStamp(file);
        if (now !== seen) {
            seen = now;
            try {
                map = readRoleMap(file);
            } catch (e) {
                onInvalid(e as Error);
            }
        }
        return map;
    };
}
