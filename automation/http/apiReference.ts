import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { caseSensitiveRouter } from "./router";
import type { Router } from "express";

/** Where the API reference page is served; the dashboard links here. */
export const API_REFERENCE_PATH = "/api";

// Redoc's standalone bundle from our own node_modules, read once. Its sidebar footer shows
// Redocly's logo from their CDN, which the policy would block on every load: an empty image
// instead, so the page asks nothing of anyone else.
const REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
let redocBundle: string | undefined;
function redoc(): string {
    redocBundle ??= fs.readFileSync(require.resolve("redoc/bundles/redoc.standalone.js"), "utf8").replaceAll(REDOC_LOGO, "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E");
    return redocBundle;
}

/**
 * The two <style> elements the bundle adds as it loads, before Redoc.init can hand it the nonce:
 * perfect-scrollbar's CSS and an empty one. Admitted by their hashes, which hold for the pinned
 * redoc version (the browser test fails with the policy's report if an upgrade changes them).
 */
const REDOC_STYLE_HASHES = ["'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='", "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"];
const REFERENCE_SCRIPT = path.join(__dirname, "apiReference.browser.js");

/**
 * The page's policy. As strict as the dashboard's except for what Redoc needs: its styles are
 * injected <style> elements, admitted by a per-response nonce (Redoc hands it to
 * styled-components) and two hashes, not by 'unsafe-inline'; its search index runs in a worker
 * made from a blob.
 */
export function apiReferencePolicy(nonce: string): string {
    return [
        "default-src 'none'",
        "script-src 'self'",
        `style-src 'self' 'nonce-${nonce}' ${REDOC_STYLE_HASHES.join(" ")}`,
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ].join("; ");
}

function page(nonce: string): string {
    // The nonce travels in a data attribute: the init script is a file, never inline code.
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>todobackend automation: API reference</title>
<link rel="icon" href="data:,">
<script src="${API_REFERENCE_PATH}/redoc.standalone.js" defer></script>
<script src="${API_REFERENCE_PATH}/reference.js" defer></script>
</head>
<body>
<p><a href="/">Back to the dashboard</a> · <a href="/v1/openapi.json">openapi.json</a></p>
<div id="reference" data-spec-url="/v1/openapi.json" data-nonce="${nonce}"></div>
</body>
</html>
`;
}

/** The OpenAPI document rendered by Redoc, for people; machines read /v1/openapi.json. Unauthenticated, like the document. */
export function apiReferenceRouter(): Router {
    const r = caseSensitiveRouter();
    r.get(API_REFERENCE_PATH, (_req, res) => {
        const nonce = randomBytes(16).toString("base64");
        res.set("Content-Security-Policy", apiReferencePolicy(nonce));
        res.set("Referrer-Policy", "no-referrer");
        res.set("Cache-Control", "no-store");
        res.type("html").send(page(nonce));
    });
    r.get(`${API_REFERENCE_PATH}/redoc.standalone.js`, (_req, res) => {
        res.set("Cache-Control", "public, max-age=3600");
        res.type("text/javascript").send(redoc());
    });
    r.get(`${API_REFERENCE_PATH}/reference.js`, (_req, res) => {
        res.sendFile(REFERENCE_SCRIPT);
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function apiReferenceOpenApiPaths(): Record<string, unknown> {
    return {
        "/api": { get: { summary: "This document for people: the API reference page (Redoc)", security: [], tags: ["docs"], responses: { 200: { description: "text/html" } } } },
        "/api/redoc.standalone.js": { get: { summary: "The API reference page's renderer (Redoc, from the service's node_modules)", security: [], tags: ["docs"], responses: { 200: { description: "text/javascript" } } } },
        "/api/reference.js": { get: { summary: "The API reference page's start-up script", security: [], tags: ["docs"], responses: { 200: { description: "text/javascript" } } } },
    };
}
