// Notification receivers on loopback for the service's tests: each records what it got and
// answers as the test says, and a delivery's signature is checked as a receiver would.
import { createHmac, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
    headers: http.IncomingHttpHeaders;
    body: string;
    answered: number;
}

/** A receiver on loopback answering each delivery's attempts with `answers` in turn (the last one repeats); "hang" never answers. */
export async function receiver(answers: Array<number | "hang">): Promise<{ url: string; got: Received[]; close(): void }> {
    const got: Received[] = [];
    const attempts = new Map<string, number>();
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            const id = String(req.headers["x-automation-delivery"]);
            const n = attempts.get(id) ?? 0;
            attempts.set(id, n + 1);
            const answer = answers[Math.min(n, answers.length - 1)];
            got.push({ headers: req.headers, body, answered: answer === "hang" ? 0 : answer });
            if (answer === "hang") return;
            res.writeHead(answer).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/B000/s3cr3t-path`, got, close: () => server.closeAllConnections() };
}

/** Checks a delivery's signature as a receiver does: HMAC-SHA256 over "<t>.<body>", compared in constant time. */
export function verify(secret: string, r: Received): boolean {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers["x-automation-signature"]));
    if (!m) return false;
    const expected = createHmac("sha256", secret).update(`${m[1]}.${r.body}`).digest();
    return timingSafeEqual(expected, Buffer.from(m[2], "hex"));
}
