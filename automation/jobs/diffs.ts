// Property-level diffs of an engine step, from the structured event: the provider's detailed
// diff when it gives one (every AWS resource does), else a comparison of the step's old and new
// inputs (for a refresh: the outputs in the state against those the provider reads now).
import type { PropertyDiff } from "./types";

/** Longest value shown as is; a longer one is replaced by its length. */
export const MAX_VALUE_CHARS = 256;
/** The engine's marker of a secret value in event payloads. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

type Json = unknown;

/** A value as a diff shows it: secrets masked, long values elided. */
export function shown(value: Json): Json {
    if (value && typeof value === "object" && SECRET_SIG in (value as Record<string, unknown>)) return "[secret]";
    if (value === "[secret]") return value;
    const text = JSON.stringify(value) ?? "";
    if (text.length > MAX_VALUE_CHARS) return `[${text.length} characters]`;
    return value;
}

/** `a.b[0].c` → ["a", "b", 0, "c"]. */
function keysOf(path: string): Array<string | number> {
    const keys: Array<string | number> = [];
    for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) keys.push(/^\[\d+\]$/.test(part) ? Number(part.slice(1, -1)) : part);
    return keys;
}

function valueAt(root: Json, path: string): Json {
    let v: any = root;
    for (const k of keysOf(path)) v = v == null ? undefined : v[k];
    return v;
}

const isRecord = (v: Json): v is Record<string, Json> => !!v && typeof v === "object" && !Array.isArray(v) && !(SECRET_SIG in (v as object));
const internal = (key: string) => key.startsWith("__");

/** Leaf-level comparison of two property maps: objects are entered, arrays and scalars compared whole. */
export function compareProperties(olds: Json, news: Json, prefix = "", depth = 0): PropertyDiff[] {
    const out: PropertyDiff[] = [];
    const a = isRecord(olds) ? olds : {};
    const b = isRecord(news) ? news : {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !internal(k)).sort()) {
        const path = prefix ? `${prefix}.${key}` : key;
        const [x, y] = [a[key], b[key]];
        if (x === undefined && y !== undefined) out.push({ path, kind: "add", new: shown(y) });
        else if (y === undefined && x !== undefined) out.push({ path, kind: "delete", old: shown(x) });
        else if (isRecord(x) && isRecord(y) && depth < 8) out.push(...compareProperties(x, y, path, depth + 1));
        else if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path, kind: "update", old: shown(x), new: shown(y) });
    }
    return out;
}

interface StepState { inputs?: Json; outputs?: Json }
export interface StepMetadata {
    op?: string;
    old?: StepState | null;
    new?: StepState | null;
    detailedDiff?: Record<string, { kind?: string; inputDiff?: boolean }> | null;
    /** The properties that force a replacement. */
    keys?: string[];
}

const REPLACING = new Set(["replace", "create-replacement", "delete-replaced", "discard-replaced"]);

/** What a step changes, property by property; `refresh` compares outputs (state vs. actual). */
export function stepDiffs(m: StepMetadata, refresh = false): { diffs: PropertyDiff[]; replaceReasons?: string[] } {
    const side = (s: StepState | null | undefined) => (refresh ? s?.outputs : s?.inputs);
    const replaceReasons = REPLACING.has(m.op ?? "") && m.keys?.length ? [...m.keys] : undefined;
    if (m.detailedDiff && !refresh) {
        const diffs = Object.entries(m.detailedDiff).filter(([path]) => !internal(path)).map(([path, d]): PropertyDiff => {
            const kind = (d.kind ?? "update").replace(/-replace$/, "") as "add" | "delete" | "update";
            const replaced = (d.kind ?? "").endsWith("-replace");
            const olds = valueAt(side(m.old), path);
            const news = valueAt(side(m.new), path);
            return { path, kind: replaced ? "replace" : kind, ...(kind !== "add" ? { old: shown(olds) } : {}), ...(kind !== "delete" ? { new: shown(news) } : {}) };
        });
        return { diffs, ...(replaceReasons ? { replaceReasons } : {}) };
    }
    if (!m.old || !m.new) return { diffs: [], ...(replaceReasons ? { replaceReasons } : {}) };
    const diffs = compareProperties(side(m.old), side(m.new)).map((d) =>
        (replaceReasons?.some((k) => d.path === k || d.path.startsWith(`${k}.`)) ? { ...d, kind: "replace" as const } : d));
    return { diffs, ...(replaceReasons ? { replaceReasons } : {}) };
}
