import type { Application } from "express";

/** One method and path the app answers, with the path as OpenAPI writes it (`/v1/jobs/{id}`). */
export interface MountedRoute {
    method: string;
    path: string;
}

interface LayerLike {
    route?: { path: unknown; methods: Record<string, boolean | undefined> };
    handle?: { stack?: unknown };
    rawPath?: unknown;
    slash?: boolean;
}

/** Express's `:param` segments in OpenAPI's `{param}` form. */
export const toOpenApiPath = (expressPath: string): string => expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/**
 * Every route the app mounts, found by walking its router (Express 5, router 2): route layers
 * give their paths and methods, router layers their mount path. A mount path it cannot read is
 * an error, so a future Express cannot make routes silently disappear from the list.
 */
export function mountedRoutes(app: Application): MountedRoute[] {
    const out = new Map<string, MountedRoute>();
    walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, "", out);
    return [...out.values()].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

function walk(stack: readonly LayerLike[], prefix: string, out: Map<string, MountedRoute>): void {
    for (const layer of stack) {
        if (layer.route) {
            const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
            for (const p of paths) {
                if (typeof p !== "string") throw new Error(`route path ${String(p)} under ${prefix || "/"} is not a string`);
                for (const [method, on] of Object.entries(layer.route.methods)) {
                    if (!on) continue;
                    const route = { method: method === "_all" ? "all" : method, path: toOpenApiPath(prefix + p) };
                    out.set(`${route.method} ${route.path}`, route);
                }
            }
            continue;
        }
        const inner = layer.handle?.stack;
        if (!Array.isArray(inner)) continue; // plain middleware: no routes of its own
        const mount = layer.slash ? "" : layer.rawPath;
        if (typeof mount !== "string") throw new Error(`cannot read the mount path of a router under ${prefix || "/"}`);
        walk(inner as LayerLike[], prefix + mount, out);
    }
}
