# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# the typed client is an npm workspace (clients/typescript): npm ci needs its manifest
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY clients ./clients
# the console and tracking pages: web/ bundled by scripts/build-web.mjs into dist/web
COPY scripts ./scripts
COPY web ./web
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# node_modules/@dispatchd/client links here (the demo's simulated stores use it)
COPY --from=build --chown=node:node /app/clients/typescript/package.json ./clients/typescript/
COPY --from=build --chown=node:node /app/clients/typescript/dist ./clients/typescript/dist
COPY --chown=node:node package.json ./
COPY --chown=node:node sql ./sql
RUN mkdir -p /app/.data && chown node:node /app/.data
# The official image's unprivileged user.
USER node
EXPOSE 8080
# No curl in the slim image: Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 receives SIGTERM directly, so graceful shutdown runs on `docker stop`.
# A 64 MB young generation, as load/bench-ingest.ts measures the service (BENCHMARKS.md "Location ingest"): the
# per-frame objects of the socket path die young, and GC took ~40 % less of the loop than with the default.
# WORKERS > 1: cluster workers inherit the flag.
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
