import { createHmac, timingSafeEqual } from "node:crypto";

/** Checks GitHub's X-Hub-Signature-256 header against the raw request body in constant time. */
export function verifyGithubSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
    if (!header || !header.startsWith("sha256=")) return false;
    const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
}
