// The GitHub route is the one route anyone may send a body to without a token, and its bodies
// are large (GitHub sends up to 25 MB). Its signature covers the whole body, so a body must be
// read before it can be trusted: what bounds the memory strangers can take is deciding, before
// reading a byte, whether this body may be read at all.
import type { RequestHandler } from "express";
import { AppError, payloadTooLarge } from "../errors";

export interface WebhookBodyOptions {
    /** Largest body accepted (AUTOMATION_WEBHOOK_BODY_LIMIT). */
    limitBytes: number;
    /** Bytes of webhook bodies being read at once, over all senders. @default 2 × limitBytes */
    budgetBytes?: number;
    /** Bodies one address may have being read at once. @default 2 */
    perAddress?: number;
}

/** A signature header as GitHub sends it; anything else is not worth reading the body for. */
const SIGNATURE = /^sha256=[0-9a-f]{64}$/i;

/**
 * Reads a delivery's raw body into `req.body` (a Buffer), but only after these checks, made
 * on the headers alone: no plausible `X-Hub-Signature-256` → the body is not read (the route
 * answers 401); no `Content-Length` → 411; a length over the limit → 413; the bodies being read
 * would then exceed the budget, or this address already has `perAddress` of them → 503 with
 * Retry-After. A body longer than its declared length is cut off with 400.
 */
export function webhookBody(options: WebhookBodyOptions): RequestHandler {
    const budget = options.budgetBytes ?? 2 * options.limitBytes;
    const perAddress = options.perAddress ?? 2;
    let reading = 0;
    const byAddress = new Map<string, number>();
    return (req, res, next) => {
        if (!SIGNATURE.test(req.get("x-hub-signature-256") ?? "")) {
            next();
            return;
        }
        const declared = req.get("content-length");
        if (declared === undefined || !/^\d+$/.test(declared)) {
            next(new AppError("LENGTH_REQUIRED", 411, "A webhook delivery needs a Content-Length header (GitHub sends one)."));
            return;
        }
        const length = Number(declared);
        if (length > options.limitBytes) {
            next(payloadTooLarge(options.limitBytes));
            return;
        }
        const address = req.ip ?? "unknown";
        const mine = byAddress.get(address) ?? 0;
        if (reading + length > budget || mine >= perAddress) {
            res.set("Retry-After", "5");
            next(new AppError("BUSY", 503, "Too many webhook bodies are being received at once; retry in a few seconds.", { retryAfterSeconds: 5 }));
            return;
        }
        reading += length;
        byAddress.set(address, mine + 1);
        let released = false;
        const release = () => {
            if (released) return;
            released = true;
            reading -= length;
            const left = (byAddress.get(address) ?? 1) - 1;
            if (left > 0) byAddress.set(address, left);
            else byAddress.delete(address);
        };
        const chunks: Buffer[] = [];
        let received = 0;
        const fail = (err: AppError) => {
            release();
            req.removeAllListeners("data");
            req.resume();
            next(err);
        };
        req.on("data", (chunk: Buffer) => {
            received += chunk.length;
            if (received > length) {
                fail(new AppError("BAD_REQUEST", 400, "The body is longer than its Content-Length."));
                return;
            }
            chunks.push(chunk);
        });
        req.once("end", () => {
            if (released) return;
            release();
            req.body = Buffer.concat(chunks, received);
            next();
        });
        req.once("error", () => fail(new AppError("BAD_REQUEST", 400, "The request body was not received whole.")));
        req.once("close", release);
    };
}
