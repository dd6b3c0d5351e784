import { Router } from "express";
import { z } from "zod";
import type { NotificationDeliveries } from "../notifications/deliveries";
import { shownUrl, type Destination } from "../notifications/destinations";
import { parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";

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
