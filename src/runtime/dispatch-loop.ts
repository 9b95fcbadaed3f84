/**
 * Creates the dispatch loop once per app and decorates it as `app.dispatcher` (`runRound(zone)`,
 * `onRound(listener)`); started when the app is ready if DISPATCH=on, stopped (waiting for running
 * rounds) before the app closes its connections.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { defaultPolicy } from '../dispatch/policy.js';
import { haversineTravelModel } from '../dispatch/travel.js';
import { CourierAvailabilityStore } from '../store/redis/courier-availability.js';
import { ZoneLeases } from '../store/redis/zone-lease.js';
import { buildRoundInput, zonesWithOpenOrders, type SnapshotOptions, type SnapshotSources } from './dispatch-snapshot.js';
import { dispatchZoneOf } from './dispatch-zones.js';
import { Dispatcher, type DispatcherOptions, type DispatcherPorts } from './dispatcher.js';

declare module 'fastify' {
  interface FastifyInstance {
    dispatcher: Dispatcher;
  }
}

/** Couriers further than this from every pickup of a zone are not in its rounds. */
export const COURIER_RADIUS_M = 15_000;

/** Where a round's snapshot comes from and how it is built, as the app wires it (also used by quotes). */
export function snapshotWiring(app: FastifyInstance): { sources: SnapshotSources; options: SnapshotOptions } {
  const { config } = app;
  const { pool, repo } = app.orders;
  const policy = defaultPolicy;
  const zoneRes = config.dispatchZoneResolution;
  const indexRes = config.h3Resolution;
  const options: SnapshotOptions = {
    zoneResolution: zoneRes,
    indexResolution: indexRes,
    staleAfterMs: config.staleAfterMs,
    defaultCapacity: config.courierCapacity,
    travel: haversineTravelModel(config.courierSpeedMps),
    service: { pickupS: config.pickupServiceS, dropoffS: config.dropoffServiceS },
    courierRadiusM: Math.min(COURIER_RADIUS_M, policy.candidateRadiusS * config.courierSpeedMps),
  };
  return { sources: { pool, index: app.locationIndex, availability: new CourierAvailabilityStore(app.redis), repo }, options };
}

/** The dispatcher's ports and options as the app wires them (tests build variants from these). */
export function dispatcherWiring(app: FastifyInstance): { ports: DispatcherPorts; options: DispatcherOptions } {
  const { config, clock } = app;
  const { pool, offers } = app.orders;
  const { sources, options: snapshotOptions } = snapshotWiring(app);
  const { availability } = sources;
  const policy = { ...defaultPolicy, maxMs: config.dispatchRoundBudgetMs };
  const zoneRes = config.dispatchZoneResolution;
  const indexRes = config.h3Resolution;
  return {
    ports: {
      clock,
      log: app.log.child({ feature: 'dispatch' }),
      leases: new ZoneLeases(app.redis),
      zonesWithOpenOrders: () => zonesWithOpenOrders(pool, zoneRes, indexRes),
      roundInput: (zone, nowMs) => buildRoundInput(zone, nowMs, sources, snapshotOptions),
      offer: (courierId, orderIds, actor, opts) => offers.offer(courierId, orderIds, actor, opts),
      isPaused: (courierId) => availability.isPaused(courierId),
    },
    options: { intervalMs: config.dispatchIntervalMs, debounceMs: config.dispatchDebounceMs, policy },
  };
}

/** The dispatch zone of an order (its pickup), as the app configures zones. */
export function orderZone(app: FastifyInstance, pickup: { lat: number; lng: number }): string {
  return dispatchZoneOf(pickup, app.config.dispatchZoneResolution, app.config.h3Resolution);
}

export const dispatchLoop = fp(
  async function dispatchLoop(app: FastifyInstance) {
    const { config } = app;
    const { ports, options } = dispatcherWiring(app);
    const log = ports.log;
    const dispatcher = new Dispatcher(ports, options);
    app.decorate('dispatcher', dispatcher);
    app.orders.lifecycle.onOpen((order) => dispatcher.notifyOpen(orderZone(app, order.pickup)));

    app.addHook('onReady', async () => {
      if (config.dispatch === 'on') {
        dispatcher.start();
        log.info(
          { intervalMs: options.intervalMs, debounceMs: options.debounceMs, zoneResolution: config.dispatchZoneResolution, budgetMs: options.policy.maxMs },
          'dispatch loop started',
        );
      }
    });
    // before onClose: rounds still running need Redis, Postgres and the message bus
    app.addHook('preClose', async () => {
      await dispatcher.stop();
    });
  },
  {
    name: 'dispatchd-dispatch-loop',
    fastify: '5.x',
    dependencies: ['dispatchd-core', 'dispatchd-courier-socket', 'dispatchd-orders'],
  },
);
