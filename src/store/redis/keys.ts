/**
 * Every Redis key and channel name dispatchd uses, in one place, with the hash slot each one lands in on
 * a Redis Cluster (keys are relative: ioredis adds the deployment's REDIS_KEY_PREFIX, which must carry no
 * `{`, so the tags below stay the hash tags of the full keys). docs/scaling.md explains the design.
 *
 * Hash tags (the part in `{…}`: Redis Cluster hashes only that part, so keys with the same tag share a slot):
 * - `{<zone>}`, the coarse zone (H3 parent at ZONE_RESOLUTION, domain/geo zoneOf, the storage zone the
 *   open pool and dispatch leases use): a zone's cell sets, open-order pool and versions, and its dispatch
 *   lease live on one shard, so every multi-key script of a zone (open-pool sync/prune, lease renew/release,
 *   SUNION over a zone's cells) runs on one shard.
 * - no tag (the whole key is hashed): keys of one courier, order, offer or quote. They are read and written
 *   one key per command (or in a batch split per node, store/redis/batch.ts), never together with another
 *   key in one script or MULTI on a cluster.
 * - single well-known keys (`loc:stream`, `loc:streams`, `loc:dead`, `offers:due`, `open-zones`): one slot each.
 * - `{s<k>…}`: the history streams when there are several (store/redis/history-streams.ts), tags chosen to
 *   spread them evenly over the slot space.
 *
 * On a single Redis the tags change nothing (they are plain characters of the key), so these are the key
 * names single-Redis deployments have always used: upgrading loses no state.
 */

/** Hash tag of a zone (`{<zone>}`): put it in every key that belongs to the zone. */
export const zoneTag = (zone: string) => `{${zone}}`;

/** The zone a tagged key belongs to (the text between the first `{` and `}`), or null. */
export function tagOf(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

export const redisKeys = {
  // --- live locations (store/redis/location-index.ts) ---
  /** hash: a courier's current position, duplicate-detection state and cell-set key (`ck`). No tag. */
  courierLocation: (courierId: string) => `loc:courier:${courierId}`,
  /** set: couriers whose current position is in `cell`; tagged with the cell's zone. */
  cell: (zone: string, cell: string) => `loc:cell:${zoneTag(zone)}:${cell}`,
  /** stream of accepted points, read by the history sink: the only one when HISTORY_STREAMS is 1 (see
   *  store/redis/history-streams.ts and docs/scaling.md "history stream"). */
  locationStream: 'loc:stream',
  /** one of several history streams (HISTORY_STREAMS > 1); `tag` from history-streams.ts. */
  locationStreamShard: (tag: string) => `loc:stream:{${tag}}`,
  /** set of the history stream keys writers registered (the sink reads every one of them). */
  locationStreams: 'loc:streams',
  /** stream of points the sink could not store (dead letters). */
  deadLetterStream: 'loc:dead',

  // --- open orders (store/redis/open-orders.ts) ---
  /** hash order id → entry JSON: a zone's open pool. */
  openOrders: (zone: string) => `open:${zoneTag(zone)}`,
  /** hash order id → last applied version (tombstones included), same slot as the pool. */
  openOrderVersions: (zone: string) => `open:${zoneTag(zone)}:v`,
  /** set of zones that ever had open orders (written outside the zone's script: another slot). */
  openZones: 'open-zones',

  // --- dispatch (store/redis/zone-lease.ts, dispatch-decisions.ts) ---
  dispatchLease: (zone: string) => `dispatch-lease:${zoneTag(zone)}`,
  decision: (orderId: string) => `dispatch-decision:${orderId}`,

  // --- offers (store/redis/offers.ts) ---
  offer: (offerId: string) => `offer:${offerId}`,
  courierOffer: (courierId: string) => `courier-offer:${courierId}`,
  /** zset offer id → expiry: one schedule for the whole deployment. */
  offersDue: 'offers:due',

  // --- couriers (store/redis/courier-availability.ts, courier-paused.ts) ---
  courierPaused: (courierId: string) => `courier-paused:${courierId}`,
  courierShift: (courierId: string) => `courier-shift:${courierId}`,

  // --- carrier hand-off (runtime/carrier-dispatch.ts) ---
  /** the carrier courier's latest position of an order (tracking snapshot). No tag. */
  carrierPosition: (orderId: string) => `carrier:pos:${orderId}`,

  // --- quotes (store/redis/quotes.ts) ---
  quote: (quoteId: string) => `quote:${quoteId}`,
} as const;
