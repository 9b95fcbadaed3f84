/**
 * Creates the order feature's services once per app and decorates them as `app.orders`: the order
 * lifecycle, offers, courier tasks, the message bus and the webhook sender (started on ready,
 * stopped on close). The courier socket side is plugged in by gateway/ws/courier-orders.ts.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { serviceTravel } from './travel-times.js';
import { PgOrderRepository } from '../store/pg/order-repository.js';
import { RedisOfferState } from '../store/redis/offers.js';
import { RedisQuoteStore } from '../store/redis/quotes.js';
import { OpenOrderPool } from '../store/redis/open-orders.js';
import { RedisMessageBus, type MessageBus } from '../store/redis/pubsub.js';
import { CourierTasks } from './courier-tasks.js';
import { OfferService } from './offers.js';
import { OrderLifecycle } from './order-lifecycle.js';
import { repeatOnClock, type Periodic } from './periodic.js';
import { WebhookSender } from './webhook-sender.js';

export interface OrderServices {
  readonly repo: PgOrderRepository;
  readonly pool: OpenOrderPool;
  readonly bus: MessageBus;
  readonly lifecycle: OrderLifecycle;
  readonly offers: OfferService;
  readonly tasks: CourierTasks;
  readonly webhooks: WebhookSender;
}

declare module 'fastify' {
  interface FastifyInstance {
    orders: OrderServices;
  }
}

export const orderServices = fp(
  async function orderServices(app: FastifyInstance) {
    const { config, clock } = app;
    const log = app.log.child({ feature: 'orders' });
    const repo = new PgOrderRepository(app.db);
    const pool = new OpenOrderPool(app.redis);
    const bus = new RedisMessageBus(app.redis, (err, channel) => log.error({ err, channel }, 'bad bus message'));
    const travel = serviceTravel(app);
    const service = { pickupS: config.pickupServiceS, dropoffS: config.dropoffServiceS };
    const lifecycle = new OrderLifecycle(repo, pool, bus, clock, log, {
      targets: { expressMs: config.promiseExpressMin * 60_000, standardMs: config.promiseStandardMin * 60_000 },
      h3Resolution: config.h3Resolution,
      zones: app.zones,
      quotes: new RedisQuoteStore(app.redis, 2 * config.quoteTtlMs),
    });
    const offers = new OfferService(
      lifecycle,
      repo,
      new RedisOfferState(app.redis),
      bus,
      clock,
      log,
      async (courierId) => {
        const loc = await app.locationIndex.get(courierId);
        return loc ? { lat: loc.lat, lng: loc.lng } : null;
      },
      { ttlMs: config.offerTtlMs, travel, service },
    );
    const tasks = new CourierTasks(lifecycle, repo, bus, clock, log, {
      travel,
      service,
      geofence: {
        radiusM: config.geofenceRadiusM,
        exitRadiusM: Math.max(config.geofenceRadiusM, config.geofenceExitRadiusM),
        dwellMs: config.geofenceDwellMs,
        maxAccuracyM: config.geofenceMaxAccuracyM,
      },
    });
    const webhooks = new WebhookSender(app.db, clock, log.child({ part: 'webhooks' }), {
      retryForMs: config.webhookRetryForMs,
      backoffBaseMs: config.webhookBackoffBaseMs,
      backoffMaxMs: config.webhookBackoffMaxMs,
      timeoutMs: config.webhookTimeoutMs,
      pollMs: config.webhookPollMs,
      allowPrivateTargets: config.webhookAllowPrivate,
    });
    app.decorate('orders', { repo, pool, bus, lifecycle, offers, tasks, webhooks } satisfies OrderServices);

    let reconciler: Periodic | null = null;
    // Redis back after an outage may have come back empty (restart without persistence, failover to a
    // replica): rebuild the open pool from Postgres at once rather than at the next periodic repair.
    let redisLost = false;
    const onRedisClose = () => {
      redisLost = true;
    };
    const onRedisReady = () => {
      if (!redisLost) return;
      redisLost = false;
      log.warn('redis is back: rebuilding the open-order pool from Postgres');
      reconciler?.runNow();
    };
    app.redis.on('close', onRedisClose);
    app.redis.on('ready', onRedisReady);
    app.addHook('onReady', async () => {
      await lifecycle.rebuildOpenPool();
      // post-commit pool writes can fail (Redis blip): repair the pool from Postgres now and then
      reconciler = repeatOnClock(clock, config.openPoolReconcileMs, () => lifecycle.reconcileOpenPool(), (err) =>
        log.error({ err }, 'open pool reconcile failed'),
      );
      offers.start();
      if (config.webhookSender === 'on') webhooks.start();
    });
    app.addHook('onClose', async () => {
      app.redis.off('close', onRedisClose);
      app.redis.off('ready', onRedisReady);
      await reconciler?.stop();
      await offers.stop();
      await webhooks.stop();
      await bus.close();
    });
  },
  {
    name: 'dispatchd-orders',
    fastify: '5.x',
    dependencies: ['dispatchd-core', 'dispatchd-auth', 'dispatchd-websocket', 'dispatchd-courier-socket', 'dispatchd-zones'],
  },
);
