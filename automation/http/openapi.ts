// Placeholder replaced below in this same session.
export const openApiDocument = (): Record<string, unknown> => ({ openapi: "3.1.0", info: { title: "todobackend automation service", version: "1" }, paths: {} });
