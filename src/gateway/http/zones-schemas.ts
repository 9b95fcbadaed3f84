/** Request and response schemas of the zone admin API (`/v1/zones`), TypeBox; see src/domain/zones.ts. */
import { Type, type Static } from '@sinclair/typebox';

export const ZoneIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'zone id: letters, digits, _ and -, up to 64' }) });

const Position = Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[lng, lat]' });
const Ring = Type.Array(Position, { maxItems: 20_000 });
const PolygonCoords = Type.Array(Ring, { minItems: 1, maxItems: 100 });
export const GeometrySchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('Polygon'), coordinates: PolygonCoords }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('MultiPolygon'), coordinates: Type.Array(PolygonCoords, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
  ],
  { description: 'GeoJSON Polygon or MultiPolygon, (lng, lat) order, closed rings' },
);

const Minutes = Type.Integer({ minimum: 0, maximum: 10_080 });
const OptionSchema = Type.Object(
  {
    promiseMin: Type.Integer({ minimum: 0, maximum: 10_080, description: 'promise floor, minutes after now' }),
    maxMin: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080, description: 'not offered when the live promise is later' })),
    feeExtra: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000, description: 'added to this option’s fee before surge' })),
  },
  { additionalProperties: false },
);
const Amount = Type.Number({ minimum: 0, maximum: 100_000 });
export const FeeRulesSchema = Type.Object(
  {
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' }),
    base: Amount,
    perKm: Amount,
    surgeStep: Type.Number({ minimum: 0, maximum: 100, description: 'multiplier added per excess open order per free courier' }),
    surgeCap: Type.Number({ minimum: 1, maximum: 100, description: 'largest surge multiplier' }),
    max: Type.Optional(Amount),
  },
  { additionalProperties: false },
);
const HoursSchema = Type.Object(
  {
    days: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, description: 'ISO weekdays, 1 = Monday' })),
    from: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    to: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
  },
  { additionalProperties: false },
);
const Fleet = Type.Union([Type.Literal('own'), Type.Literal('carrier'), Type.Literal('both')]);

/** Settings as sent (defaults filled in by the route) and as shown (all present). */
export const ZoneSettingsSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    active: Type.Optional(Type.Boolean({ default: true })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, default: 0, description: 'overlaps: higher wins' })),
    timezone: Type.Optional(Type.String({ maxLength: 100, default: 'UTC', description: 'IANA time zone of the hours' })),
    hours: Type.Optional(Type.Array(HoursSchema, { maxItems: 50, description: 'opening intervals; empty or absent: always open' })),
    options: Type.Object(
      { express: Type.Optional(OptionSchema), standard: Type.Optional(OptionSchema), scheduled: Type.Optional(OptionSchema) },
      { additionalProperties: false },
    ),
    fee: FeeRulesSchema,
    safetyMarginMin: Type.Optional(Minutes),
    fleet: Type.Optional(Fleet),
    carrier: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const ZoneBodySchema = Type.Object({ geometry: GeometrySchema, settings: ZoneSettingsSchema }, { additionalProperties: false });
export type ZoneBody = Static<typeof ZoneBodySchema>;

export const ZoneViewSchema = Type.Object({
  id: Type.String(),
  geometry: GeometrySchema,
  settings: ZoneSettingsSchema,
  version: Type.Integer(),
  updatedAt: Type.Integer({ description: 'epoch ms' }),
  updatedBy: Type.String(),
});
export const ZoneListSchema = Type.Object({ zones: Type.Array(ZoneViewSchema) });

/** GET /v1/zones/:id/travel: the calibrated travel factors of a zone (issue 14). */
export const ZoneTravelSchema = Type.Object(
  {
    zone: Type.String(),
    legs: Type.Integer({ description: 'moving legs of courier trails starting in this zone the factors were learned from (all hours)' }),
    refreshedAt: Type.Union([Type.Integer({ description: 'epoch ms' }), Type.Null()], { description: 'last calibration from the trails in Postgres; null: not yet' }),
    prior: Type.Object(
      { straightMps: Type.Number(), detour: Type.Number() },
      { description: 'what the model uses without data: COURIER_SPEED_MPS (straight line) and TRAVEL_PRIOR_DETOUR' },
    ),
    hours: Type.Array(
      Type.Object({
        hour: Type.Integer({ minimum: 0, maximum: 23, description: 'local hour of day (PREP_UTC_OFFSET_MIN)' }),
        speedMps: Type.Number({ description: 'speed over ground, m/s' }),
        detour: Type.Number({ description: 'distance over ground / straight line' }),
        straightMps: Type.Number({ description: 'straight-line speed the travel model uses (speedMps / detour), m/s' }),
        samples: Type.Integer({ description: 'legs behind the level used' }),
        level: Type.Union([Type.Literal('zone-hour'), Type.Literal('zone'), Type.Literal('global'), Type.Literal('prior')], {
          description: 'where the factors come from: this zone at this hour, this zone, all zones, or the prior (too few legs)',
        }),
      }),
      { description: 'the 24 local hours' },
    ),
  },
  { title: 'ZoneTravel' },
);
