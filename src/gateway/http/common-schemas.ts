/**
 * Schemas every HTTP route shares in its OpenAPI description: the one error body and a helper that
 * declares a route's error responses by status. Routes use these in `schema.response` so the
 * published contract names what each route can answer, from the same TypeBox the server uses.
 */
import { Type, type TSchema } from '@sinclair/typebox';

/** `{ code, message, details? }` — see src/gateway/errors.ts. */
export const ErrorResponse = Type.Object(
  {
    code: Type.String({ description: 'stable machine-readable error code' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse', title: 'ErrorResponse' },
);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid request',
  401: 'missing, invalid or expired token',
  403: 'role not allowed',
  404: 'not found',
  409: 'conflict with the current state',
  422: 'understood but cannot be served',
  429: 'rate limited',
  503: 'a dependency is unavailable or the node is overloaded; retry after Retry-After',
};

/**
 * `{ 400: ErrorResponse, 404: ErrorResponse, … }` for `schema.response`; `codes` documents the
 * machine-readable codes each status can carry (shown in the description).
 */
export function errorResponses(codes: Partial<Record<number, readonly string[]>>): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const [status, list] of Object.entries(codes)) {
    const s = Number(status);
    const what = ERROR_DESCRIPTIONS[s] ?? 'error';
    out[s] = Type.Ref(ErrorResponse, { description: list && list.length ? `${what}: ${list.join(', ')}` : what });
  }
  return out;
}
