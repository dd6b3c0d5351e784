import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** What a destination may be told of. */
export const NOTIFICATION_EVENTS = [
    "job.finished",
    "job.failed",
    "approval.requested",
    "approval.granted",
    "drift.detected",
    "stack.needs-repair",
    "dependency.triggered",
    "destroy.upcoming",
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export interface Destination {
    name: string;
    url: string;
    /** "json": our event as JSON; "slack": a Slack incoming-webhook message ({text}). */
    format: "json" | "slack";
    /** Signs each delivery (HMAC-SHA256); undefined: unsigned. */
    secret?: string;
    events: readonly NotificationEvent[];
}

const FileSchema = z.object({
    destinations: z
        .array(
            z.object({
                name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be a plain name"),
                url: z.string().url().regex(/^https?:\/\//, "must be an http(s) URL"),
                format: z.enum(["json", "slack"]).default("json"),
                /** The environment variable holding the signing secret (never the secret itself in the file). */
                secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must name an environment variable").optional(),
                events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional(),
            }),
        )
        .default([]),
});

/**
 * The destinations of notifications, only ever from configuration (never from a request, so no
 * caller can make the service send to an address of theirs): `AUTOMATION_NOTIFY_WEBHOOK_URL`
 * (+ `_SECRET`) for one generic webhook told of every event, and/or the YAML file
 * `AUTOMATION_NOTIFY_FILE`. A bad file fails the start-up, naming the field.
 */
export function loadDestinations(o: { webhookUrl?: string; webhookSecret?: string; file?: string; env: NodeJS.ProcessEnv }): Destination[] {
    const problems = (list: string[]) => Object.assign(new Error(list.join("; ")), { problems: list });
    const out: Destination[] = [];
    if (o.webhookUrl) out.push({ name: "webhook", url: o.webhookUrl, format: "json", ...(o.webhookSecret ? { secret: o.webhookSecret } : {}), events: NOTIFICATION_EVENTS });
    if (!o.file) return out;
    let raw: unknown;
    try {
        raw = parseYaml(fs.readFileSync(o.file, "utf8"));
    } catch (e) {
        throw problems([`AUTOMATION_NOTIFY_FILE: ${o.file} cannot be read as YAML (${(e as Error).message.split("\n")[0]})`]);
    }
    const parsed = FileSchema.safeParse(raw ?? {});
    if (!parsed.success) throw problems(parsed.error.issues.map((i) => `AUTOMATION_NOTIFY_FILE: ${o.file}: ${i.path.join(".")}: ${i.message}`));
    for (const d of parsed.data.destinations) {
        const secret = d.secretEnv ? o.env[d.secretEnv] : undefined;
        if (d.secretEnv && !secret) throw problems([`AUTOMATION_NOTIFY_FILE: ${o.file}: destination ${d.name}: ${d.secretEnv} is not set; set it or drop secretEnv`]);
        if (out.some((x) => x.name === d.name)) throw problems([`AUTOMATION_NOTIFY_FILE: ${o.file}: destination ${d.name} is named twice`]);
        out.push({ name: d.name, url: d.url, format: d.format, ...(secret ? { secret } : {}), events: d.events ?? NOTIFICATION_EVENTS });
    }
    return out;
}

/** A destination's URL as admins see it: scheme and host only (Slack's webhook path is its credential). */
export function shownUrl(url: string): string {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
}
