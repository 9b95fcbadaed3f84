/** Request and response schemas of `POST /v1/quotes` (TypeBox). Times are epoch milliseconds. */
import { Type, type Static } from '@sinclair/typebox';
import { PlaceSchema } from './orders-schemas.js';

const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'epoch milliseconds' });
const Option = Type.Union([Type.Literal('express'), Type.Literal('standard'), Type.Literal('scheduled')]);
const Window = Type.Object({ from: EpochMs, to: EpochMs }, { additionalProperties: false });

export const QuoteBodySchema = Type.Object(
  {
    pickup: PlaceSchema,
    dropoff: PlaceSchema,
    items: Type.Integer({ minimum: 1, maximum: 10_000 }),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'capacity units, default 1' })),
    readyAt: Type.Optional(EpochMs),
    options: Type.Optional(Type.Array(Option, { minItems: 1, maxItems: 3, uniqueItems: true, description: 'default: every option the zone sells' })),
    windows: Type.Optional(Type.Array(Window, { minItems: 1, maxItems: 20, description: 'scheduled delivery windows to price' })),
  },
  { additionalProperties: false },
);
export type QuoteBody = Static<typeof QuoteBodySchema>;

const Money = Type.Object({ amount: Type.Number({ description: 'currency units, rounded to the minor unit' }), currency: Type.String() });
const Reason = Type.Union(
  ['no_courier', 'cannot_meet_promise', 'zone_closed', 'option_not_offered', 'no_own_fleet', 'window_in_past', 'window_too_soon', 'window_too_far'].map((r) => Type.Literal(r)),
);

export const QuoteViewSchema = Type.Object({
  quoteId: Type.String({ format: 'uuid' }),
  zoneId: Type.String(),
  createdAt: EpochMs,
  expiresAt: EpochMs,
  distanceM: Type.Integer({ description: 'great-circle pickup → drop-off' }),
  options: Type.Array(
    Type.Object({
      option: Option,
      fee: Money,
      promisedBy: EpochMs,
      window: Type.Optional(Window),
      fleet: Type.Union([Type.Literal('own'), Type.String()], { description: '`own` or the carrier’s name' }),
    }),
  ),
  unavailable: Type.Array(Type.Object({ option: Option, window: Type.Optional(Window), reason: Reason })),
});
