/**
 * GET /v1/kpis?from=&to=&bucket=   (dispatcher, admin; tag `kpis`)
 * The day's KPIs per bucket of the service clock, read from Postgres: orders placed and delivered,
 * on time vs late against promisedBy, click-to-door p50/p90. `from`/`to` are epoch ms or ISO 8601
 * (default: the last 24 h up to now), `bucket` ms (default 15 min). Refusals: 400 invalid_from,
 * invalid_to, invalid_bucket, invalid_time_range (from ≥ to, or over 31 days), too_many_buckets (> 2000).
 * `byFleet`: the whole range split by fleet, own couriers vs each carrier (domain/fleet-kpis.ts).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DEFAULT_BUCKET_MS, kpiBucket, kpiRange } from '../../domain/kpi-buckets.js';
import { fleetKpiCounts, kpiBucketCounts } from '../../store/pg/kpi-queries.js';
import { fleetKpis } from '../../domain/fleet-kpis.js';
import { AppError } from '../errors.js';
import { errorResponses } from './common-schemas.js';
import { FleetKpisSchema } from './response-schemas.js';
import { rejectInvalid } from './orders.js';
import { typeboxValidator } from './orders-schemas.js';

const DEFAULT_RANGE_MS = 86_400_000;

const KpiQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'epoch ms or ISO 8601; default `to` − 24 h' })),
    to: Type.Optional(Type.String({ description: 'epoch ms or ISO 8601, exclusive; default now (service clock)' })),
    bucket: Type.Optional(Type.String({ description: `bucket length in ms, ${60_000}…${86_400_000}; default ${DEFAULT_BUCKET_MS}` })),
  },
  { additionalProperties: false },
);

const NullableNumber = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });

const KpiResponse = Type.Object(
  {
    from: Type.Number({ description: 'start of the first bucket, epoch ms (aligned to the bucket length)' }),
    to: Type.Number({ description: 'end of the last bucket, exclusive' }),
    bucketMs: Type.Number(),
    buckets: Type.Array(
      Type.Object({
        start: Type.Number(),
        placed: Type.Integer({ description: 'orders placed in the bucket' }),
        delivered: Type.Integer({ description: 'orders delivered in the bucket' }),
        onTime: Type.Integer({ description: 'of those, delivered at or before promisedBy' }),
        late: Type.Integer(),
        onTimePct: NullableNumber('onTime / delivered, %; null without deliveries'),
        ctdP50Ms: NullableNumber('click-to-door (placedAt → deliveredAt) median of the deliveries, ms'),
        ctdP90Ms: NullableNumber('click-to-door 90th percentile (nearest rank), ms'),
      }),
    ),
    byFleet: Type.Array(FleetKpisSchema, { description: 'the whole range split by fleet: own first (always present), then each carrier by name' }),
  },
  { title: 'Kpis' },
);

function timeOf(raw: string | undefined, name: 'from' | 'to'): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const ms = /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new AppError(400, `invalid_${name}`, `${name} must be epoch ms or an ISO 8601 time`, { field: name });
  return ms;
}

export const kpiRoutes = fp(
  async function kpiRoutes(app: FastifyInstance) {
    app.get(
      '/v1/kpis',
      {
        attachValidation: true,
        validatorCompiler: typeboxValidator,
        config: { roles: ['dispatcher', 'admin'] },
        schema: {
          summary: 'KPIs per bucket of the service clock: placed, delivered, on time vs late, click-to-door p50/p90; and split by fleet with cost per order',
          tags: ['kpis'],
          querystring: KpiQuery,
          response: {
            200: KpiResponse,
            ...errorResponses({
              400: ['validation_failed', 'invalid_from', 'invalid_to', 'invalid_bucket', 'invalid_time_range', 'too_many_buckets'],
              401: ['unauthorized'],
              403: ['forbidden'],
            }),
          },
        },
      },
      async (request) => {
        rejectInvalid(request);
        const q = request.query as { from?: string; to?: string; bucket?: string };
        const to = timeOf(q.to, 'to') ?? app.clock.now();
        const from = timeOf(q.from, 'from') ?? to - DEFAULT_RANGE_MS;
        const bucketMs = q.bucket === undefined || q.bucket === '' ? DEFAULT_BUCKET_MS : /^\d+$/.test(q.bucket) ? Number(q.bucket) : NaN;
        const range = kpiRange(from, to, bucketMs);
        if ('error' in range) throw new AppError(400, range.error, range.message);
        const [counts, fleets] = await Promise.all([kpiBucketCounts(app.db, range), fleetKpiCounts(app.db, range.from, range.to)]);
        return {
          from: range.from,
          to: range.to,
          bucketMs: range.bucketMs,
          buckets: counts.map((c, i) => kpiBucket(range.from + i * range.bucketMs, c)),
          byFleet: fleetKpis(fleets, app.config.currency),
        };
      },
    );
  },
  { name: 'dispatchd-kpi-routes', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth', 'dispatchd-api-docs'] },
);
