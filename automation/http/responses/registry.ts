// The answers' zod schemas, each under the name the document gives it: http/openapi.ts generates
// those components from here, and the routes send their answers through `send`, whose type
// refuses a field the answer's schema does not declare. So a field added in code but not in the
// schema fails typecheck, and one added to the schema is in the document without more work.
import type { Response } from "express";
import { z } from "zod";

const registry = z.registry<{ id: string }>();

/** `schema`, to appear in the document as `#/components/schemas/<id>` (and be referred to by that). */
export function component<T extends z.ZodType>(id: string, schema: T): T {
    registry.add(schema, { id });
    return schema;
}

/**
 * Every schema given a name by `component`, as OpenAPI 3.0 components referring to each other by
 * $ref. The modules that name them must have been loaded first (responses/index.ts loads them all).
 */
export function registeredComponents(): Record<string, unknown> {
    const { schemas } = z.toJSONSchema(registry, { target: "openapi-3.0", io: "output", uri: (id) => `#/components/schemas/${id}` });
    // $id would make a validator resolve the component's own $refs against it rather than the document.
    return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _, ...schema }]) => [id, schema]));
}

type AllKeys<T> = T extends unknown ? keyof T : never;
type FieldOf<T, K> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/**
 * The paths (`.repair.findings[].lock.pid`) of the fields `Actual` may carry and `Schema` does not
 * declare, at any depth; never when there are none. A union is checked member by member against
 * the fields of all of `Schema`'s members.
 */
export type ExtraFields<Actual, Schema, Path extends string = ""> = Actual extends readonly (infer A)[]
    ? ExtraFields<A, Schema extends readonly (infer S)[] ? S : never, `${Path}[]`>
    : Actual extends object
      ? { [K in keyof Actual]-?: K extends string ? (K extends AllKeys<Schema> ? ExtraFields<Actual[K], NonNullable<FieldOf<Schema, K>>, `${Path}.${K}`> : `${Path}.${K}`) : never }[keyof Actual]
      : never;

/** `unknown` (anything) when `T` has no field `Schema` lacks; otherwise an object naming them, which `T` is not. */
export type WithoutExtraFields<T, Schema> = [ExtraFields<T, Schema>] extends [never] ? unknown : { fieldsTheSchemaLacks: ExtraFields<T, Schema> };

/**
 * Sends `body` as the JSON answer `schema` describes (set the status first). A field of `body`
 * that the schema lacks fails typecheck, the error naming its path under `fieldsTheSchemaLacks`.
 */
export function send<S extends z.ZodType, T extends WithoutExtraFields<T, z.output<S>>>(res: Response, _schema: S, body: T): void {
    res.json(body);
}

/** Compiles only when `A` is assignable to `B`: a service's own type against its answer's schema. */
export const fits = <A extends B, B>(): void => undefined;
