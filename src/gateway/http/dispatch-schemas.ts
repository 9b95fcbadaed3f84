/**
 * Response schemas of the dispatch explanation routes (`GET /v1/orders/:id/dispatch`,
 * `GET /v1/orders/:id/assign-preview`): the shapes of src/dispatch/decisions.ts as TypeBox, so the
 * OpenAPI document shows them and the serializer writes exactly these fields. Times are epoch ms.
 */
import { Type } from '@sinclair/typebox';

const EpochMs = Type.Number({ description: 'epoch milliseconds' });

export const CostSchema = Type.Object(
  {
    total: Type.Number({ description: 'weighted total the optimizer minimised (policy units)' }),
    clickToDoorS: Type.Number({ description: 'sum over the orders of drop-off − placement, s' }),
    latenessS: Type.Number({ description: 'sum over the orders of time past the promise, s' }),
    travelS: Type.Number({ description: 'courier seconds driving' }),
    waitS: Type.Number({ description: 'courier seconds waiting at the pickup' }),
  },
  { title: 'DispatchCost' },
);

export const DecisionSchema = Type.Object(
  {
    orderId: Type.String(),
    at: Type.Number({ description: 'the round time (service clock), epoch ms' }),
    zone: Type.String({ description: 'dispatch zone (H3 cell) of the round' }),
    decision: Type.Union([Type.Literal('assigned'), Type.Literal('waiting'), Type.Literal('carrier'), Type.Literal('reassigned')], {
      description: '`carrier`: handed to a third-party carrier (see `fleet`); `reassigned`: taken from its courier and offered to `courierId` because its ready estimate changed (see `reassigned`)',
    }),
    reason: Type.Optional(
      Type.String({
        description:
          'why the order waits: no_courier_in_reach, couriers_taken, not_ready_soon_enough, waiting_to_bundle, courier_busy, ' +
          'all_couriers_declined, over_capacity, pinned_courier_unavailable, would_be_late_anyway, round_budget_exhausted, commit_conflict',
      }),
    ),
    courierId: Type.Optional(Type.String()),
    etaPickupAt: Type.Optional(EpochMs),
    etaDropoffAt: Type.Optional(EpochMs),
    stops: Type.Optional(
      Type.Array(Type.Object({ orderId: Type.String(), kind: Type.Union([Type.Literal('pickup'), Type.Literal('dropoff')]), at: EpochMs })),
    ),
    cost: Type.Optional(CostSchema),
    pinned: Type.Optional(Type.Boolean()),
    runnerUp: Type.Optional(
      Type.Object({ courierId: Type.Optional(Type.String()), costDelta: Type.Number({ description: 'runner-up cost − chosen cost' }), etaPickupAt: Type.Optional(EpochMs) }),
    ),
    nearest: Type.Optional(
      Type.Object({ courierId: Type.Optional(Type.String()), etaPickupAt: EpochMs, freesAt: Type.Optional(EpochMs) }, { description: 'the courier that could be at the pickup first' }),
    ),
    ready: Type.Optional(
      Type.Object(
        {
          source: Type.Union([Type.Literal('known'), Type.Literal('learned'), Type.Literal('store'), Type.Literal('default')], {
            description: "known: the store marked it ready; learned: the store's learned prep time; store: the store's estimate at placement; default: placement (no estimate)",
          }),
          at: Type.Number({ description: 'the ready time the round planned with, epoch ms' }),
          medianS: Type.Optional(Type.Number({ description: 'learned: median prep time from placement given not ready yet, s' })),
          spreadS: Type.Optional(Type.Number({ description: 'learned: half the interquartile range of the prep time, s' })),
          samples: Type.Optional(Type.Integer({ description: "learned: the store's ready orders the model learned from" })),
        },
        { description: 'the ready time the round planned with and where it came from' },
      ),
    ),
    fleet: Type.Optional(
      Type.Object(
        {
          fleet: Type.String({ description: '`own` or the carrier’s name' }),
          reason: Type.String({ description: 'e.g. `carrier: no own courier meets promise`, `carrier: own cost exceeds carrier quote by margin`, `own: own fleet meets promise`' }),
          carrier: Type.Optional(Type.String({ description: 'the carrier the zone allows' })),
          ownCost: Type.Optional(Type.Number({ description: 'own cost estimate, carrier currency units' })),
          carrierFee: Type.Optional(Type.Object({ amount: Type.Number(), currency: Type.String() })),
          carrierDropoffEta: Type.Optional(EpochMs),
          deliveryId: Type.Optional(Type.String({ description: 'the carrier’s delivery when handed off' })),
        },
        { description: 'the hybrid-fleet policy’s verdict (orders in zones that allow a carrier)' },
      ),
    ),
    reassigned: Type.Optional(
      Type.Object(
        {
          reason: Type.String({ description: '`estimate_changed`' }),
          fromCourierId: Type.Optional(Type.String({ description: 'the courier it was taken from' })),
          savedS: Type.Number({ description: 'pickup (and delivery) earlier by this many seconds; ≤ 0 when the gain is courier time' }),
          gainS: Type.Number({ description: 'the gain on the optimizer’s score, in seconds of click-to-door (≥ REASSIGN_MIN_GAIN_S)' }),
          readyChangeS: Type.Number({ description: 'the ready estimate now − the one the assignment was planned with, s (< 0: earlier)' }),
        },
        { description: 'an assignment update: why the order moved to another courier' },
      ),
    ),
  },
  { title: 'DispatchDecision' },
);

export const DecisionHistorySchema = Type.Object({
  orderId: Type.String(),
  decisions: Type.Array(DecisionSchema, { description: 'newest first' }),
});

export const AssignPreviewQuery = Type.Object(
  { courierId: Type.String({ minLength: 1, maxLength: 200, description: 'the courier the dispatcher means to assign' }) },
  { additionalProperties: false },
);

const PreviewOptionSchema = Type.Object({
  courierId: Type.String(),
  etaPickupAt: EpochMs,
  etaDropoffAt: EpochMs,
  cost: CostSchema,
});

export const AssignPreviewSchema = Type.Object(
  {
    chosen: Type.Union([PreviewOptionSchema, Type.Null()], { description: "the dispatcher's courier; null when it cannot serve the order (capacity, shift end)" }),
    optimizer: Type.Union([PreviewOptionSchema, Type.Null()], { description: "the optimizer's pick for the order alone; null when no courier is in reach" }),
    delta: Type.Union([Type.Object({ etaDropoffMs: Type.Number(), cost: Type.Number() }), Type.Null()], {
      description: 'chosen − optimizer (positive: the override delivers later / costs more)',
    }),
  },
  { title: 'AssignPreview' },
);
