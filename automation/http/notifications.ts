import { Router } from "express";
import { z } from "zod";
import type { NotificationDeliveries } from "../notifications/deliveries";
import { shownUrl, type Destination } from "../notifications/destinations";
import { parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { common, errorResponse, json, queryParams } from "./openapiParts";

export const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }).strict();

/** `GET /v1/notifications/deliveries` (admin): where notifications go, and how the latest deliveries went. */
export function notificationsRouter(o: { destinations: readonly Destination[]; deliveries: NotificationDeliveries }, auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/notifications/deliveries", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const q = parse(DeliveriesQuery, req.query, "query");
        res.json({
            // Never the secret, nor the URL's path (a Slack webhook's path is its credential).
            destinations: o.destinations.map((d) => ({ name: d.name, url: shownUrl(d.url), format: d.format, signed: d.secret !== undefined, events: d.events })),
            deliveries: await o.deliveries.list(q.limit ?? 100),
        });
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function notificationsOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/notifications/deliveries": {
            get: {
                summary: "Where notifications go (URLs shown as scheme and host only, never a secret) and the latest deliveries (role admin)",
                tags: ["audit"],
                parameters: queryParams(DeliveriesQuery),
                responses: {
                    200: {
                        description: "destinations [{name, url, format, signed, events}]; deliveries newest first [{id, destination, event, status pending|delivered|failed, attempts, lastStatus, lastError, createdAt, updatedAt}].",
                        content: json({ type: "object", properties: { destinations: { type: "array", items: { type: "object" } }, deliveries: { type: "array", items: { type: "object" } } } }),
                    },
                    ...common,
                    422: errorResponse("Invalid query."),
                },
            },
        },
    };
}
