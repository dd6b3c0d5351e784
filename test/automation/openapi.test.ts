// The OpenAPI document against the routes the service really mounts (the whole assembly, as
// `npm start` builds it), and GET /v1/whoami. No job runs here: workers are stubbed out.
import assert from "node:assert/strict";
import express from "express";
import { openApiDocument } from "../../automation/http/openapi";
import { mountedRoutes, toOpenApiPath } from "../../automation/http/mountedRoutes";
import { Harness, startHarness } from "./harness";

describe("route listing", () => {
    it("lists the routes of nested routers under their mount paths, in OpenAPI's {param} form", () => {
        const app = express();
        const inner = express.Router();
        inner.get("/jobs/:id", (_req, res) => void res.end());
        inner.post("/jobs/:id/cancel", (_req, res) => void res.end());
        const outer = express.Router();
        outer.use((_req, _res, next) => next());
        outer.use("/inner", inner);
        app.use("/v1", outer);
        app.get("/healthz", (_req, res) => void res.end());
        assert.deepEqual(mountedRoutes(app), [
            { method: "get", path: "/healthz" },
            { method: "get", path: "/v1/inner/jobs/{id}" },
            { method: "post", path: "/v1/inner/jobs/{id}/cancel" },
        ]);
    });

    it("turns every :param of a path into {param}", () => {
        assert.equal(toOpenApiPath("/v1/stacks/:stack/repair/:id"), "/v1/stacks/{stack}/repair/{id}");
    });
});

describe("the OpenAPI document and the mounted routes", function () {
    this.timeout(120_000);
    let h: Harness;
    const documented = () =>
        Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));

    before(async () => {
        h = await startHarness({
            overrides: {
                startWorker: () => {
                    throw new Error("no job runs in the OpenAPI tests");
                },
            },
        });
    });
    after(async () => {
        await h?.stop();
    });

    it("documents every route the service mounts, with its method", () => {
        const mounted = mountedRoutes(h.server.app).map((r) => `${r.method} ${r.path}`);
        assert.ok(mounted.includes("post /v1/stacks/{stack}/repair") && mounted.includes("get /v1/whoami"), `the walk found the approvals', audit's and repair routes: ${mounted.join(", ")}`);
        const missing = mounted.filter((r) => !documented().includes(r));
        assert.deepEqual(missing, [], "mounted but not in /v1/openapi.json");
    });

    it("documents no route the service does not mount", () => {
        const mounted = new Set(mountedRoutes(h.server.app).map((r) => `${r.method} ${r.path}`));
        assert.deepEqual(documented().filter((r) => !mounted.has(r)), []);
    });

    it("serves that document at /v1/openapi.json without a token", async () => {
        const r = await h.call("GET", "/v1/openapi.json");
        assert.equal(r.status, 200);
        assert.deepEqual(Object.keys(r.body.paths).sort(), Object.keys(openApiDocument().paths as object).sort());
    });

    it("answers GET /v1/whoami with the caller's token name, role and that a token signed them in", async () => {
        const viewer = await h.call("GET", "/v1/whoami", { token: h.tokens.viewer });
        assert.equal(viewer.status, 200);
        assert.deepEqual(viewer.body, { name: "vera-viewer", role: "viewer", via: "token" });
        const admin = await h.call("GET", "/v1/whoami", { token: h.tokens.admin });
        assert.deepEqual(admin.body, { name: "ada-admin", role: "admin", via: "token" });
    });

    it("refuses GET /v1/whoami without a token with 401", async () => {
        const r = await h.call("GET", "/v1/whoami");
        assert.equal(r.status, 401);
        assert.equal(r.body.error.code, "UNAUTHENTICATED");
    });
});
