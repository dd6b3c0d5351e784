// A minimal SSE client for tests: reads `id`/`event`/`data` records until the stream ends or
// `stopAfter` events arrived (then drops the connection, like a client losing its network).
export interface SseEvent {
    id: number;
    event: string;
    data: any;
}

export async function readSse(url: string, token: string, opts: { lastEventId?: number; stopAfter?: number } = {}): Promise<SseEvent[]> {
    const controller = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "text/event-stream" };
    if (opts.lastEventId !== undefined) headers["last-event-id"] = String(opts.lastEventId);
    const res = await fetch(url, { headers, signal: controller.signal });
    if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
    const events: SseEvent[] = [];
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = res.body.getReader();
    try {
        for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let cut: number;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
                const record = buffer.slice(0, cut);
                buffer = buffer.slice(cut + 2);
                const fields = Object.fromEntries(
                    record
                        .split("\n")
                        .filter((l) => l && !l.startsWith(":"))
                        .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trimStart()]),
                );
                if (fields.id === undefined) continue;
                events.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) });
                if (opts.stopAfter !== undefined && events.length >= opts.stopAfter) {
                    controller.abort();
                    return events;
                }
            }
        }
    } catch (e) {
        if (!controller.signal.aborted) throw e;
    }
    return events;
}
