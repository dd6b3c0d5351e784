import express from "express";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { isAppError } from "../../../automation/errors";

/**
 * Serves `build(app)` on 127.0.0.1:0 with an error middleware rendering AppErrors the way the
 * service does, so the security middleware is exercised through real HTTP.
 */
export async function serve(build: (app: express.Express) => void): Promise<{ url: string; close: () => Promise<void> }> {
    const app = express();
    build(app);
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        if (isAppError(err)) res.status(err.status).json({ error: err.toJSON() });
        else res.status(500).json({ error: { code: "INTERNAL" } });
    });
    const server: Server = await new Promise((resolve) => {
        const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * The start of a hostile pull request's program: `__try(name, fn)` prints one line per attack,
 * `ATTEMPT <name>: succeeded <result>` or `ATTEMPT <name>: refused <error code>`, into the
 * preview's log, where `attemptIn` reads it back.
 */
export const ATTEMPT_PRELUDE = `
const __fs = require("fs");
const __try = (name, fn) => {
    try {
        const r = fn();
        console.log("ATTEMPT " + name + ": succeeded " + (r === undefined ? "" : String(r)));
    } catch (e) {
        console.log("ATTEMPT " + name + ": refused " + (e.code || e.message));
    }
};
`;

/** What the program printed for attempt `name` ("succeeded …" or "refused …"); fails when it never tried. */
export function attemptIn(log: readonly string[], name: string): string {
    const line = log.find((l) => l.includes(`ATTEMPT ${name}:`));
    if (!line) throw new Error(`the program did not try ${name}:\n${log.join("\n")}`);
    return line.slice(line.indexOf(`ATTEMPT ${name}:`) + `ATTEMPT ${name}: `.length);
}
