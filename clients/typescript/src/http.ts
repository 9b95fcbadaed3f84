/**
 * The HTTP API, typed from the service's OpenAPI document (generated/openapi.ts) and called with
 * openapi-fetch: `const api = createHttpClient({ baseUrl, token }); const { data, error } = await
 * api.POST('/v1/orders', { body })`. `error` is the service's `{ code, message, details? }`.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.js';

export type { paths, components };
export type Order = components['schemas']['Order'];
export type OrderStatus = components['schemas']['OrderStatus'];
export type Offer = components['schemas']['Offer'];
export type OrderEvent = components['schemas']['OrderEvent'];
export type ErrorResponse = components['schemas']['ErrorResponse'];
export type OrderBody = paths['/v1/orders']['post']['requestBody'] extends { content: { 'application/json': infer B } } ? B : never;

export type HttpClient = Client<paths>;

export interface HttpClientOptions {
  /** e.g. `http://localhost:3000` */
  baseUrl: string;
  /** Bearer JWT (a store, dispatcher, admin or courier token), or a function returning the current one. */
  token?: string | (() => string);
  /** Custom fetch (tests, retries, proxies). */
  fetch?: typeof fetch;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/$/, ''), ...(options.fetch ? { fetch: options.fetch } : {}) });
  const { token } = options;
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${typeof token === 'function' ? token() : token}`);
        return request;
      },
    });
  }
  return client;
}
