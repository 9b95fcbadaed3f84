/**
 * @dispatchd/client: a typed client for dispatchd.
 * - HTTP: `createHttpClient({ baseUrl, token })` (openapi-fetch over the generated OpenAPI types)
 * - WebSocket: `CourierSocket`, `StoreSocket`, `TrackingSocket` (reconnecting, typed frames)
 * - Webhooks: `verifyWebhookSignature(secret, header, rawBody)`
 * Generated types: `paths`/`components` (HTTP) and the frame unions (`CourierServerFrame`, …).
 */
export * from './http.js';
export * from './socket.js';
export * from './courier-socket.js';
export * from './store-socket.js';
export * from './tracking-socket.js';
export * from './webhooks.js';
export type {
  components as FrameSchemas,
  CourierClientFrame,
  CourierServerFrame,
  StoreClientFrame,
  StoreServerFrame,
  TrackServerFrame,
  ConsoleServerFrame,
} from './generated/frames.js';
