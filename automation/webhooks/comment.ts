import type { Job } from "../jobs/types";

/** GitHub refuses issue comments longer than this many characters. */
export const COMMENT_LIMIT = 65_536;

/** Hidden marker that finds this service's earlier comments for the same stack on a PR. */
export const markerFor = (stack: string) => `<!-- todobackend-automation:preview:${stack} -->`;

const FENCE = "```";

/** A Markdown report of a preview job: outcome, counts, steps, policy findings, the log. */
export function formatPreviewComment(input: { job: Job; log: readonly string[]; sha?: string }): string {
    const { job } = input;
    const s = job.summary;
    const lines = [`### Pulumi preview of \`${job.stack}\`: ${job.state}${input.sha ? ` at ${input.sha.slice(0, 12)}` : ""}`, ""];
    if (job.error) lines.push(`**${job.error.code}**: ${job.error.message}`, "");
    const counts = Object.entries(s?.counts ?? {}).filter(([op]) => op !== "same");
    lines.push(counts.length ? `| operation | resources |\n|---|---|\n${counts.map(([op, n]) => `| ${op} | ${n} |`).join("\n")}` : "No changes.", "");
    if (s?.steps.length) {
        lines.push("<details><summary>Steps</summary>", "", FENCE + "diff");
        // What a refresh found is labelled drift: with refresh, the resource is listed again for the change planned.
        for (const step of s.steps) lines.push(`${step.op === "create" ? "+" : step.op === "delete" ? "-" : "~"} ${step.op}${step.drift ? " (drift)" : ""} ${step.urn}`);
        lines.push(FENCE, "</details>", "");
    }
    if (s?.policyViolations.length) {
        lines.push("**Policy findings**", "");
        for (const v of s.policyViolations) lines.push(`- [${v.enforcementLevel}] ${v.policyPack}/${v.policyName}: ${v.message.split("\n")[0]}`);
        lines.push("");
    }
    if (input.log.length) lines.push("<details><summary>Log</summary>", "", FENCE + "text", ...input.log.map((l) => l.replaceAll(FENCE, "`​``")), FENCE, "</details>");
    lines.push("", `<sub>job ${job.id}</sub>`);
    return lines.join("\n");
}

/**
 * Splits `body` into comments of at most `limit` characters, each starting with the marker
 * and its part number, breaking between lines and closing/reopening a code fence that spans
 * a break so every part renders on its own.
 */
export function splitComment(body: string, marker: string, limit = COMMENT_LIMIT): string[] {
    const header = (i: number) => `${marker}\n<!-- part ${i} -->\n`;
    const room = limit - header(999).length - 2 * (FENCE.length + 8) - 16;
    if (room < 100) throw new Error(`limit ${limit} leaves no room for content`);
    const parts: string[] = [];
    let current: string[] = [];
    let size = 0;
    let openFence: string | undefined;
    const flush = () => {
        if (openFence) current.push(FENCE);
        parts.push(current.join("\n"));
        current = openFence ? [openFence] : [];
        size = current.reduce((n, l) => n + l.length + 1, 0);
    };
    const pieces = body.split("\n").flatMap((line) => {
        // a single line longer than a part is cut
        const out: string[] = [];
        for (let i = 0; i < line.length || i === 0; i += room) out.push(line.slice(i, i + room));
        return out;
    });
    for (const line of pieces) {
        if (size + line.length + 1 > room && current.length) flush();
        current.push(line);
        size += line.length + 1;
        if (line.startsWith(FENCE)) openFence = openFence ? undefined : line;
    }
    if (current.length) parts.push(current.join("\n"));
    return parts.map((p, i) => header(i + 1) + p);
}
