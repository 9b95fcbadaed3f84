/**
 * Postgres adapter for orders. Every change writes, in ONE transaction: the order row (guarded by an
 * optimistic version check), its `order_events` row, and one webhook outbox row per registered store
 * endpoint. A concurrent change makes the version check fail; `change()` then re-reads and re-applies
 * the command, which re-validates it against the state that won (so racing commands resolve to one
 * consistent history, never a lost update).
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { Actor, Order, OrderEvent, OrderStatus } from '../../domain/order.js';
import { publicOrder } from '../../domain/order.js';
import {
  eventFromRow,
  ORDER_COLUMNS,
  orderFromRow,
  orderValues,
  type EventRow,
  type OrderRow,
  type StoredOrderEvent,
} from './order-rows.js';

export type { StoredOrderEvent };

/** The unique key a second order from the same quote fails on (sql/0013). */
export const ORDER_QUOTE_CONSTRAINT = 'order_quotes_pkey';

export type OrderStoreErrorCode = 'idempotency_conflict' | 'version_conflict' | 'order_not_found' | 'invalid_cursor';

export class OrderStoreError extends Error {
  constructor(
    readonly code: OrderStoreErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OrderStoreError';
  }
}

export interface OfferRecord {
  readonly id: string;
  readonly courierId: string;
  readonly orderIds: readonly string[];
  readonly stops: unknown;
  readonly status: 'open' | 'accepted' | 'rejected' | 'expired' | 'withdrawn';
  readonly reason: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Dispatch rounds: per order, the ready time (epoch ms) the round planned it with. */
  readonly plannedReady?: Readonly<Record<string, number>>;
}

/** An order bound to an own courier who has not reached its store yet, as the assignment update reads it. */
export interface MovableOrder {
  readonly order: Order;
  /** The ready time (epoch ms) its assignment was planned with; null when unknown (a manual offer). */
  readonly plannedReadyAt: number | null;
  /** Automatic moves (`reassigned` events) so far, and the last one's time. */
  readonly moves: number;
  readonly lastMovedAt: number | null;
}

export interface OrderListFilter {
  readonly status?: OrderStatus;
  readonly storeId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

const SELECT_ORDER = `SELECT ${ORDER_COLUMNS.join(', ')} FROM orders`;

/** The webhook body for one event: enough for a store to act without calling back. */
export function webhookPayload(order: Order, event: StoredOrderEvent): Record<string, unknown> {
  return {
    eventId: event.eventId,
    type: event.type,
    orderId: order.id,
    externalId: order.externalId,
    storeId: order.storeId,
    version: event.version,
    at: event.at,
    actor: event.actor,
    data: event.data,
    order: publicOrder(order),
  };
}

/**
 * The `order_events` row and one `webhook_outbox` row per registered store endpoint, as CTEs that
 * insert only if `source` (the order INSERT/UPDATE) produced a row. Parameters from `first` on are
 * those of `eventParams`.
 */
function eventCtes(source: string, first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `,
     event AS (
       INSERT INTO order_events (event_id, order_id, version, type, actor_role, actor_id, at, data)
       SELECT ${p(0)}::uuid, id, ${p(1)}::int, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::timestamptz, ${p(6)}::jsonb FROM ${source}
       RETURNING event_id, order_id),
     outbox AS (
       INSERT INTO webhook_outbox (event_id, store_id, order_id, version, url, payload, created_at, next_attempt_at)
       SELECT event.event_id, s.id, event.order_id, ${p(1)}::int, s.webhook_url, ${p(7)}::jsonb, ${p(5)}::timestamptz, ${p(5)}::timestamptz
         FROM event JOIN stores s ON s.id = ${p(8)}::text AND s.webhook_url IS NOT NULL)`;
}

function eventParams(order: Order, stored: StoredOrderEvent): unknown[] {
  return [
    stored.eventId,
    stored.version,
    stored.type,
    stored.actor.role,
    stored.actor.id,
    new Date(stored.at),
    JSON.stringify(stored.data),
    JSON.stringify(webhookPayload(order, stored)),
    order.storeId,
  ];
}

type Queryable = Pick<PoolClient, 'query'>;

/** Statements available inside one transaction. */
export class OrderTx {
  constructor(readonly client: Queryable) {}

  async load(id: string): Promise<Order> {
    const { rows } = await this.client.query<OrderRow>(`${SELECT_ORDER} WHERE id = $1`, [id]);
    if (!rows[0]) throw new OrderStoreError('order_not_found', `order ${id} not found`, { orderId: id });
    return orderFromRow(rows[0]);
  }

  /**
   * Writes `next` over `prev` (which must still be current) plus its event and outbox rows, in one
   * statement: the event and outbox inserts only run when the version-checked UPDATE matched.
   */
  async save(prev: Order, next: Order, event: OrderEvent): Promise<StoredOrderEvent> {
    if (next.version !== prev.version + 1 || event.version !== next.version) {
      throw new Error(`save(${prev.id}): versions must advance by one (${prev.version} → ${next.version}/${event.version})`);
    }
    const cols = ORDER_COLUMNS.slice(1);
    const values = orderValues(next).slice(1);
    const sets = cols.map((c, i) => `${c} = $${i + 3}`).join(', ');
    const stored: StoredOrderEvent = { ...event, eventId: randomUUID() };
    const first = 3 + values.length;
    const res = await this.client.query<{ n: number }>(
      `WITH changed AS (UPDATE orders SET ${sets} WHERE id = $1 AND version = $2 RETURNING id)${eventCtes('changed', first)}
       SELECT count(*)::int AS n FROM changed`,
      [prev.id, prev.version, ...values, ...eventParams(next, stored)],
    );
    if (res.rows[0]?.n !== 1) {
      throw new OrderStoreError('version_conflict', `order ${prev.id} changed concurrently (expected version ${prev.version})`, {
        orderId: prev.id,
        expectedVersion: prev.version,
      });
    }
    if (prev.fleet !== next.fleet || prev.carrierDeliveryId !== next.carrierDeliveryId) await this.moveCarrierDelivery(prev, next);
    return stored;
  }

  /**
   * Inserts a new order with its event and outbox rows in one statement; returns null (and writes
   * nothing) when (store, external id) already exists. The "one order per X" keys live in lookup
   * tables distributed by X (sql/0013): the (store, external id) row is claimed first and the order,
   * its quote row, event and outbox rows are written only if that claim won. A quote already used
   * fails the statement on `order_quotes_pkey` (ORDER_QUOTE_CONSTRAINT).
   */
  async insert(order: Order, event: OrderEvent, requestHash: string, zone: string): Promise<StoredOrderEvent | null> {
    const values = orderValues(order);
    const params = values.map((_, i) => `$${i + 1}`).join(', ');
    const at = (column: (typeof ORDER_COLUMNS)[number]) => `$${ORDER_COLUMNS.indexOf(column) + 1}`;
    const stored: StoredOrderEvent = { ...event, eventId: randomUUID() };
    const first = values.length + 4;
    const res = await this.client.query<{ n: number }>(
      `WITH claimed AS (
         INSERT INTO order_external_ids (store_id, external_id, order_id) VALUES (${at('store_id')}::text, ${at('external_id')}::text, ${at('id')}::uuid)
         ON CONFLICT (store_id, external_id) DO NOTHING
         RETURNING order_id),
       quote AS (
         INSERT INTO order_quotes (quote_id, order_id) SELECT ${at('quote_id')}::uuid, order_id FROM claimed WHERE ${at('quote_id')}::uuid IS NOT NULL),
       created AS (
         INSERT INTO orders (${ORDER_COLUMNS.join(', ')}, request_hash, zone, created_at)
         SELECT ${params}, $${values.length + 1}, $${values.length + 2}, $${values.length + 3} FROM claimed
         RETURNING id)${eventCtes('created', first)}
       SELECT count(*)::int AS n FROM created`,
      [...values, requestHash, zone, new Date(event.at), ...eventParams(order, stored)],
    );
    return res.rows[0]?.n === 1 ? stored : null;
  }

  /**
   * One order per carrier delivery (sql/0013): the lookup row follows the order's current delivery, as
   * the partial unique index on orders did; a delivery id another order holds fails on
   * `carrier_deliveries_pkey` and undoes the transaction.
   */
  private async moveCarrierDelivery(prev: Order, next: Order): Promise<void> {
    if (prev.carrierDeliveryId !== null) {
      await this.client.query(`DELETE FROM carrier_deliveries WHERE fleet = $1 AND carrier_delivery_id = $2 AND order_id = $3`, [
        prev.fleet,
        prev.carrierDeliveryId,
        prev.id,
      ]);
    }
    if (next.carrierDeliveryId !== null) {
      await this.client.query(`INSERT INTO carrier_deliveries (fleet, carrier_delivery_id, order_id) VALUES ($1, $2, $3)`, [
        next.fleet,
        next.carrierDeliveryId,
        next.id,
      ]);
    }
  }

  async insertOffer(offer: OfferRecord): Promise<void> {
    await this.client.query(
      `INSERT INTO offers (id, courier_id, order_ids, stops, status, created_at, expires_at, planned_ready) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7)`,
      [
        offer.id,
        offer.courierId,
        offer.orderIds,
        JSON.stringify(offer.stops),
        new Date(offer.createdAt),
        new Date(offer.expiresAt),
        offer.plannedReady ? JSON.stringify(offer.plannedReady) : null,
      ],
    );
  }

  /**
   * Closes an open offer; false if it was not open any more (someone else resolved it first).
   * `courierId` (the distribution column of offers) routes the update to one shard.
   */
  async closeOffer(id: string, courierId: string, status: Exclude<OfferRecord['status'], 'open'>, at: number, reason?: string): Promise<boolean> {
    const res = await this.client.query(
      `UPDATE offers SET status = $3, answered_at = $4, reason = $5 WHERE courier_id = $1 AND id = $2 AND status = 'open'`,
      [courierId, id, status, new Date(at), reason ?? null],
    );
    return res.rowCount === 1;
  }

  /**
   * An offer by id; with its courier when the caller knows it (one shard), else looked up by id alone
   * (every shard under a distributed Postgres: the expiry path, which has only the id).
   */
  async getOffer(id: string, courierId?: string): Promise<OfferRecord | null> {
    const { rows } =
      courierId === undefined
        ? await this.client.query(`SELECT * FROM offers WHERE id = $1`, [id])
        : await this.client.query(`SELECT * FROM offers WHERE courier_id = $1 AND id = $2`, [courierId, id]);
    return rows[0] ? offerFromRow(rows[0]) : null;
  }

  /**
   * Binds a courier to an order: `offerId` for an accepted offer, or null with `by` (the dispatcher
   * or admin) for an override. At most one open row per order (unique index): end the old one first.
   */
  async startAssignment(orderId: string, courierId: string, offerId: string | null, at: number, by?: Actor): Promise<void> {
    await this.client.query(
      `INSERT INTO assignments (order_id, courier_id, offer_id, assigned_at, assigned_by, assigned_by_id) VALUES ($1, $2, $3, $4, $5, $6)`,
      [orderId, courierId, offerId, new Date(at), offerId === null ? (by?.role ?? 'system') : 'offer', offerId === null ? (by?.id ?? null) : null],
    );
  }

  /** Ends the order's open assignment: with the order's final status, or `reassigned` / `unassigned` by an override. */
  async endAssignment(orderId: string, status: OrderStatus | AssignmentEnd, at: number): Promise<void> {
    await this.client.query(`UPDATE assignments SET ended_at = $2, end_status = $3 WHERE order_id = $1 AND ended_at IS NULL`, [
      orderId,
      new Date(at),
      status,
    ]);
  }

  /** The open assignment of an order, if any (tests and audits). */
  async openAssignment(orderId: string): Promise<AssignmentRecord | null> {
    const { rows } = await this.client.query(`SELECT * FROM assignments WHERE order_id = $1 AND ended_at IS NULL`, [orderId]);
    return rows[0] ? assignmentFromRow(rows[0]) : null;
  }
}

/** Why an assignment ended without the order ending: a dispatcher moved it or took it back. */
export type AssignmentEnd = 'reassigned' | 'unassigned';

export interface AssignmentRecord {
  readonly orderId: string;
  readonly courierId: string;
  readonly offerId: string | null;
  readonly assignedBy: 'offer' | 'dispatcher' | 'admin' | 'system';
  readonly assignedById: string | null;
  readonly assignedAt: number;
  readonly endedAt: number | null;
  readonly endStatus: string | null;
}

export function assignmentFromRow(r: Record<string, unknown>): AssignmentRecord {
  return {
    orderId: r.order_id as string,
    courierId: r.courier_id as string,
    offerId: (r.offer_id as string | null) ?? null,
    assignedBy: r.assigned_by as AssignmentRecord['assignedBy'],
    assignedById: (r.assigned_by_id as string | null) ?? null,
    assignedAt: (r.assigned_at as Date).getTime(),
    endedAt: r.ended_at ? (r.ended_at as Date).getTime() : null,
    endStatus: (r.end_status as string | null) ?? null,
  };
}

function offerFromRow(r: Record<string, unknown>): OfferRecord {
  return {
    id: r.id as string,
    courierId: r.courier_id as string,
    orderIds: r.order_ids as string[],
    stops: r.stops,
    status: r.status as OfferRecord['status'],
    reason: (r.reason as string | null) ?? null,
    createdAt: (r.created_at as Date).getTime(),
    expiresAt: (r.expires_at as Date).getTime(),
    ...(r.planned_ready ? { plannedReady: r.planned_ready as Record<string, number> } : {}),
  };
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(iso ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { createdAt, id };
}

export class PgOrderRepository {
  constructor(private readonly db: Pool) {}

  async transaction<T>(fn: (tx: OrderTx) => Promise<T>): Promise<T> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new OrderTx(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `fn` in a transaction and retries it (from a fresh read) when a concurrent change won the
   * version check. `fn` must be a pure decision over what it loads, so a retry re-validates it.
   */
  async change<T>(fn: (tx: OrderTx) => Promise<T>, attempts = 5): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.transaction(fn);
      } catch (err) {
        const retry = (err instanceof OrderStoreError && err.code === 'version_conflict') || isSerializationFailure(err);
        if (!retry || i >= attempts) throw err;
      }
    }
  }

  /**
   * Idempotent create on (store, external id): a replay with the same request hash returns the stored
   * order (`created: false`), a different body under the same id throws `idempotency_conflict`.
   */
  async create(
    order: Order,
    event: OrderEvent,
    requestHash: string,
    zone: string,
  ): Promise<{ order: Order; created: boolean; event: StoredOrderEvent | null }> {
    for (;;) {
      // the common case (a new order) is one statement; a replay or a conflict costs one more read
      const stored = await new OrderTx(this.db).insert(order, event, requestHash, zone);
      if (stored) return { order, created: true, event: stored };
      const existing = await this.findByExternalId(order.storeId, order.externalId);
      if (!existing) continue; // cannot happen (orders are never deleted), but never answer wrongly
      if (existing.requestHash !== requestHash) {
        throw new OrderStoreError(
          'idempotency_conflict',
          `order ${order.externalId} of store ${order.storeId} already exists with a different body`,
          { orderId: existing.order.id, externalId: order.externalId },
        );
      }
      return { order: existing.order, created: false, event: null };
    }
  }

  /** Through the (store, external id) lookup table (sql/0013), then the order by its id. */
  async findByExternalId(storeId: string, externalId: string): Promise<{ order: Order; requestHash: string } | null> {
    const key = await this.db.query<{ order_id: string }>(`SELECT order_id FROM order_external_ids WHERE store_id = $1 AND external_id = $2`, [
      storeId,
      externalId,
    ]);
    if (!key.rows[0]) return null;
    const { rows } = await this.db.query<OrderRow & { request_hash: string }>(`${SELECT_ORDER.replace(' FROM', ', request_hash FROM')} WHERE id = $1`, [
      key.rows[0].order_id,
    ]);
    return rows[0] ? { order: orderFromRow(rows[0]), requestHash: rows[0].request_hash } : null;
  }

  /** The order placed from a quote (one per quote: the order_quotes lookup table, sql/0013). */
  async findByQuoteId(quoteId: string): Promise<Order | null> {
    const key = await this.db.query<{ order_id: string }>(`SELECT order_id FROM order_quotes WHERE quote_id = $1`, [quoteId]);
    return key.rows[0] ? this.get(key.rows[0].order_id) : null;
  }

  async get(id: string): Promise<Order | null> {
    const { rows } = await this.db.query<OrderRow>(`${SELECT_ORDER} WHERE id = $1`, [id]);
    return rows[0] ? orderFromRow(rows[0]) : null;
  }

  async getMany(ids: readonly string[]): Promise<Order[]> {
    const { rows } = await this.db.query<OrderRow>(`${SELECT_ORDER} WHERE id = ANY($1::uuid[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, orderFromRow(r)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Newest first; `cursor` comes from the previous page's `nextCursor`. */
  async list(filter: OrderListFilter): Promise<{ orders: Order[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) where.push(`status = $${params.push(filter.status)}`);
    if (filter.storeId) where.push(`store_id = $${params.push(filter.storeId)}`);
    if (filter.cursor) {
      const c = decodeCursor(filter.cursor);
      if (!c) throw new OrderStoreError('invalid_cursor', 'cursor is not one this service issued', { field: 'cursor' });
      where.push(`(created_at, id) < ($${params.push(c.createdAt)}, $${params.push(c.id)})`);
    }
    const sql = `${SELECT_ORDER.replace(' FROM', ', created_at FROM')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT $${params.push(filter.limit + 1)}`;
    const { rows } = await this.db.query<OrderRow & { created_at: Date }>(sql, params);
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      orders: page.map(orderFromRow),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  async events(orderId: string, afterVersion = 0): Promise<StoredOrderEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `SELECT * FROM order_events WHERE order_id = $1 AND version > $2 ORDER BY version`,
      [orderId, afterVersion],
    );
    return rows.map(eventFromRow);
  }

  /** Every assignment of an order, oldest first (who bound which courier, and how it ended). */
  async assignments(orderId: string): Promise<AssignmentRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM assignments WHERE order_id = $1 ORDER BY assigned_at, id`, [orderId]);
    return rows.map(assignmentFromRow);
  }

  /** Orders a courier is working on (assigned … returning), oldest assignment first. */
  async activeForCourier(courierId: string): Promise<Order[]> {
    const { rows } = await this.db.query<OrderRow>(
      `${SELECT_ORDER} WHERE courier_id = $1 AND status IN ('assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'returning')
       ORDER BY placed_at, id`,
      [courierId],
    );
    return rows.map(orderFromRow);
  }

  async openOfferForCourier(courierId: string): Promise<OfferRecord | null> {
    const { rows } = await this.db.query(`SELECT * FROM offers WHERE courier_id = $1 AND status = 'open' ORDER BY created_at DESC LIMIT 1`, [
      courierId,
    ]);
    return rows[0] ? offerFromRow(rows[0]) : null;
  }

  async openOffersDueBy(at: number): Promise<OfferRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM offers WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at`, [new Date(at)]);
    return rows.map(offerFromRow);
  }

  /** Orders waiting for a courier (to rebuild the Redis open pool after Redis lost its state). */
  async openOrders(): Promise<Order[]> {
    const { rows } = await this.db.query<OrderRow>(`${SELECT_ORDER} WHERE status IN ('placed', 'ready') ORDER BY placed_at`);
    return rows.map(orderFromRow);
  }

  /** Registers (or replaces) a store's endpoint; a store unknown so far is created with its id as name. */
  async setWebhook(storeId: string, url: string, secret: string, at: number): Promise<void> {
    await this.db.query(
      `INSERT INTO stores (id, name, webhook_url, webhook_secret, created_at, updated_at) VALUES ($1, $1, $2, $3, $4, $4)
       ON CONFLICT (id) DO UPDATE SET webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret,
         updated_at = EXCLUDED.updated_at`,
      [storeId, url, secret, new Date(at)],
    );
  }

  async getWebhook(storeId: string): Promise<{ url: string; updatedAt: number } | null> {
    const { rows } = await this.db.query(`SELECT webhook_url, updated_at FROM stores WHERE id = $1 AND webhook_url IS NOT NULL`, [storeId]);
    return rows[0] ? { url: rows[0].webhook_url as string, updatedAt: (rows[0].updated_at as Date).getTime() } : null;
  }

  /** Active orders of several couriers at once (a dispatch round's committed work), grouped by courier. */
  async activeForCouriers(courierIds: readonly string[]): Promise<Map<string, Order[]>> {
    const out = new Map<string, Order[]>();
    if (courierIds.length === 0) return out;
    const { rows } = await this.db.query<OrderRow>(
      `${SELECT_ORDER} WHERE courier_id = ANY($1::text[]) AND status IN ('assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'returning')
       ORDER BY placed_at, id`,
      [courierIds],
    );
    for (const order of rows.map(orderFromRow)) out.set(order.courierId!, [...(out.get(order.courierId!) ?? []), order]);
    return out;
  }

  /**
   * Orders of these storage zones assigned to an own courier who has not reached the store (`assigned`),
   * not pinned, with the ready time their assignment was planned with and their automatic moves so far.
   */
  async movableOrders(zones: readonly string[]): Promise<MovableOrder[]> {
    if (zones.length === 0) return [];
    const cols = ORDER_COLUMNS.map((c) => `o.${c}`).join(', ');
    const { rows } = await this.db.query<OrderRow & { planned_ready_at: string | null; moves: number; last_moved_at: Date | null }>(
      `SELECT ${cols}, f.planned_ready ->> o.id::text AS planned_ready_at, m.moves, m.last_moved_at
         FROM orders o
         JOIN assignments a ON a.order_id = o.id AND a.ended_at IS NULL
         LEFT JOIN offers f ON f.id = a.offer_id
         CROSS JOIN LATERAL (SELECT count(*)::int AS moves, max(e.at) AS last_moved_at FROM order_events e
                              WHERE e.order_id = o.id AND e.type = 'reassigned') m
        WHERE o.status = 'assigned' AND o.fleet = 'own' AND NOT o.pinned AND o.zone = ANY($1::text[])
        ORDER BY o.placed_at, o.id`,
      [zones],
    );
    return rows.map((r) => ({
      order: orderFromRow(r),
      plannedReadyAt: r.planned_ready_at === null ? null : Number(r.planned_ready_at),
      moves: r.moves,
      lastMovedAt: r.last_moved_at ? r.last_moved_at.getTime() : null,
    }));
  }

  /** The storage zones that have orders a round could move (see movableOrders). */
  async zonesWithMovableOrders(): Promise<string[]> {
    const { rows } = await this.db.query<{ zone: string }>(
      `SELECT DISTINCT zone FROM orders WHERE status = 'assigned' AND fleet = 'own' AND NOT pinned ORDER BY zone`,
    );
    return rows.map((r) => r.zone);
  }

  /** Which of these couriers have an open offer (they wait for its answer, not for another one). */
  async couriersWithOpenOffer(courierIds: readonly string[]): Promise<Set<string>> {
    if (courierIds.length === 0) return new Set();
    const { rows } = await this.db.query<{ courier_id: string }>(
      `SELECT DISTINCT courier_id FROM offers WHERE status = 'open' AND courier_id = ANY($1::text[])`,
      [courierIds],
    );
    return new Set(rows.map((r) => r.courier_id));
  }

  /** Stops future deliveries; rows already in the outbox are given up by the sender. */
  async deleteWebhook(storeId: string, at: number): Promise<boolean> {
    const res = await this.db.query(
      `UPDATE stores SET webhook_url = NULL, webhook_secret = NULL, updated_at = $2 WHERE id = $1 AND webhook_url IS NOT NULL`,
      [storeId, new Date(at)],
    );
    return res.rowCount === 1;
  }
}

function isSerializationFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '40001' || code === '40P01';
}

