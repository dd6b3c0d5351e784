import type { ActionsBlock, ContextBlock, KnownBlock, SectionBlock } from "@slack/types";
import type { NotificationEvent } from "./destinations";
import type { ApprovalProgress, ChangeCounts, Envelope } from "./envelope";

/** A Slack incoming-webhook message: Block Kit blocks, and `text` for notifications and clients without blocks. */
export interface SlackMessage {
    text: string;
    blocks: KnownBlock[];
}

/**
 * Slack reads `&`, `<` and `>` as markup (`<https://x|label>` is a link): every value we did not
 * write ourselves is escaped, so a stack, a name or a comment can neither link nor mention anyone.
 */
export const escapeMrkdwn = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Block Kit's limits (section text 3000, a field 2000, a button's label 75 characters). */
const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `+1 to create · ~2 to update · -0 to delete · ±0 to replace` (a preview's counts are plans). */
export function countsInWords(counts: ChangeCounts | null, planned: boolean): string {
    if (!counts) return "nothing counted";
    const verb = (past: string, plan: string) => (planned ? `to ${plan}` : past);
    return [`+${counts.create} ${verb("created", "create")}`, `~${counts.update} ${verb("updated", "update")}`, `-${counts.delete} ${verb("deleted", "delete")}`, `±${counts.replace} ${verb("replaced", "replace")}`].join(" · ");
}

export function approvalsInWords(a: ApprovalProgress): string {
    return `${a.given} of ${a.required} given · ${a.stillNeeded} still needed`;
}

type Payload = Record<string, unknown> & Envelope;

/** The one line that says what happened; values escaped, our own words in mrkdwn. */
function headline(event: NotificationEvent, p: Payload): string {
    const stack = `*${escapeMrkdwn(p.stack)}*`;
    const job = p.job;
    const what = job ? `${job.op} of ${stack}` : stack;
    switch (event) {
        case "job.finished":
            return job ? `The ${what} ${job.state}` : `A job of ${stack} finished`;
        case "job.failed":
            return `The ${what} ${job?.state ?? "failed"}${job?.error?.code ? `: ${escapeMrkdwn(job.error.code)}` : ""}`;
        case "approval.requested":
            return `The preview of ${stack} needs approval before it can be applied`;
        case "approval.granted":
            return `${escapeMrkdwn(p.actor)} approved the ${p.approvals?.operation ?? "update"} of ${stack}`;
        case "drift.detected":
            return `Drift on ${stack}: ${plural(Array.isArray(p.resources) ? p.resources.length : 0, "resource")} changed outside Pulumi`;
        case "stack.needs-repair":
            return `${stack} needs an admin's repair before anything else runs on it`;
        case "dependency.triggered":
            return `A ${job?.op ?? "job"} of ${stack} started because *${escapeMrkdwn(String(p.upstream ?? "a stack it follows"))}* changed an output it reads`;
        case "destroy.upcoming":
            return `${stack} will be destroyed at ${escapeMrkdwn(String(p.destroyAt ?? "its TTL"))}`;
    }
}

const field = (label: string, value: string) => ({ type: "mrkdwn" as const, text: cut(`*${label}*\n${value}`, 2000) });

/**
 * The Slack message of a notification: a headline section, a section of fields (stack, actor,
 * job, changes and, for approvals, how many are still needed), a context line (event, time, and
 * the missing link when the service has no public URL) and a button to the job when it has one.
 */
export function slackMessage(event: NotificationEvent, given: Record<string, unknown> & Partial<Envelope>): SlackMessage {
    // A payload without its envelope (its reads failed) still makes a message.
    const p: Payload = { ...given, stack: String(given.stack ?? ""), actor: String(given.actor ?? "service"), url: given.url ?? null, counts: given.counts ?? null, job: given.job ?? null };
    const job = p.job;
    const planned = job?.op === "preview";
    const onBehalfOf = typeof job?.onBehalfOf === "string" ? ` (for ${job.onBehalfOf})` : "";
    const countsLabel = event === "dependency.triggered" ? `Changes of ${String(p.upstream ?? "the upstream stack")}` : "Changes";
    const fields = [
        field("Stack", escapeMrkdwn(p.stack)),
        field("Actor", escapeMrkdwn(p.actor + onBehalfOf)),
        field("Job", job ? escapeMrkdwn(`${job.op} ${job.id} · ${job.state}`) : "none"),
        field(escapeMrkdwn(countsLabel), escapeMrkdwn(countsInWords(p.counts, planned && event !== "dependency.triggered"))),
        ...(p.approvals ? [field("Approvals", escapeMrkdwn(approvalsInWords(p.approvals)))] : []),
    ];
    const at = typeof p.at === "string" ? ` · ${escapeMrkdwn(p.at)}` : "";
    const context: ContextBlock = {
        type: "context",
        elements: [{ type: "mrkdwn", text: cut(`${event}${at}${p.url ? "" : " · no link: the service has no AUTOMATION_PUBLIC_URL"}`, 3000) }],
    };
    const blocks: KnownBlock[] = [
        { type: "section", text: { type: "mrkdwn", text: cut(headline(event, p), 3000) } } satisfies SectionBlock,
        { type: "section", fields } satisfies SectionBlock,
        context,
    ];
    if (p.url) {
        const actions: ActionsBlock = {
            type: "actions",
            elements: [{ type: "button", action_id: "open-job", text: { type: "plain_text", text: event.startsWith("approval.") ? "Review and approve" : "Open the job" }, url: p.url }],
        };
        blocks.push(actions);
    }
    // The fallback a phone's notification shows: the headline without markup, the counts, the link.
    const text = [
        `[${event}] ${headline(event, p).replace(/\*/g, "")}`,
        countsInWords(p.counts, planned && event !== "dependency.triggered"),
        ...(p.approvals ? [`approvals ${approvalsInWords(p.approvals)}`] : []),
        ...(p.url ? [p.url] : []),
    ].join(" — ");
    return { text: cut(text, 3000), blocks };
}
