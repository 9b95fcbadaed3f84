/**
 * Creates the dispatch loop once per app and decorates it as `app.dispatcher` (`runRound(zone)`,
 * `onRound(listener)`); started when the app is ready if DISPATCH=on, stopped (waiting for running
 * rounds) before the app closes its connections.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { servicePolicy } from './service-policy.js';
import type { Policy } from '../dispatch/types.js';
import { serviceTravel } from './travel-times.js';
import { CourierAvailabilityStore } from '../store/redis/courier-availability.js';
import { LatestDecisions } from '../store/redis/dispatch-decisions.js';
import { ZoneLeases } from '../store/redis/zone-lease.js';
import { DecisionRecorder } from './decision-recorder.js';
import { buildRoundInput, zonesWithOpenOrders, type SnapshotOptions, type SnapshotSources } from './dispatch-snapshot.js';
import { dispatchZoneOf } from './dispatch-zones.js';
import { Dispatcher, type DispatcherOptions, type DispatcherPorts } from './dispatcher.js';
import { dispatchZonesOf, Reassignment } from './reassignment.js';
import type { ReassignRules } from '../dispatch/reassign.js';

declare module 'fastify' {
  interface FastifyInstance {
    dispatcher: Dispatcher;
    /** Each round's decisions: latest per order in Redis, history in Postgres (off the hot path). */
    decisions: DecisionRecorder;
  }
}

/** Couriers further than this from every pickup of a zone are not in its rounds. */
export const COURIER_RADIUS_M = 15_000;

/** What the dispatch rounds read and how (also used by the assign preview: the same model, the same couriers). */
export function snapshotWiring(app: FastifyInstance): { sources: SnapshotSources; options: SnapshotOptions; policy: Policy } {
  const { config } = app;
  const { pool, repo } = app.orders;
  const policy = servicePolicy(config);
  return {
    sources: { pool, index: app.locationIndex, availability: new CourierAvailabilityStore(app.redis), repo },
    options: {
      zoneResolution: config.dispatchZoneResolution,
      indexResolution: config.h3Resolution,
      staleAfterMs: config.staleAfterMs,
      defaultCapacity: config.courierCapacity,
      travel: serviceTravel(app),
      service: { pickupS: config.pickupServiceS, dropoffS: config.dropoffServiceS },
      courierRadiusM: Math.min(COURIER_RADIUS_M, policy.candidateRadiusS * config.courierSpeedMps),
      ...(app.hasDecorator('prepTimes') ? { readyTimes: app.prepTimes } : {}),
      ...(app.hasDecorator('travelTimes') ? { travelAt: (nowMs: number) => app.travelTimes.modelAt(nowMs) } : {}),
    },
    policy,
  };
}

/** The dispatcher's ports and options as the app wires them (tests build variants from these). */
export function dispatcherWiring(app: FastifyInstance): { ports: DispatcherPorts; options: DispatcherOptions } {
  const { config, clock } = app;
  const { sources, options: snapshotOptions, policy } = snapshotWiring(app);
  const { pool, availability } = sources;
  const log = app.log.child({ feature: 'dispatch' });
  const rules = reassignRules(config);
  const reassignment = new Reassignment({
    repo: app.orders.repo,
    sources,
    options: snapshotOptions,
    policy,
    rules,
    log,
    move: (req, actor) => app.orders.offers.move(req, actor),
    isPaused: (courierId) => availability.isPaused(courierId),
  });
  return {
    ports: {
      clock,
      log,
      leases: new ZoneLeases(app.redis),
      zonesWithOpenOrders: async () => {
        const zones = await zonesWithOpenOrders(pool, snapshotOptions.zoneResolution, snapshotOptions.indexResolution);
        if (!rules.enabled) return zones;
        // zones whose only work is assigned orders: their rounds look at the learned estimates moving
        const movable = dispatchZonesOf(await app.orders.repo.zonesWithMovableOrders(), snapshotOptions.zoneResolution);
        return [...new Set([...zones, ...movable])].sort();
      },
      roundInput: (zone, nowMs) => buildRoundInput(zone, nowMs, sources, snapshotOptions),
      offer: (courierId, orderIds, actor, opts) => app.orders.offers.offer(courierId, orderIds, actor, opts),
      isPaused: (courierId) => availability.isPaused(courierId),
      recordDecisions: (decisions) => app.decisions.record(decisions),
      // hybrid fleet: the round hands orders to carriers (runtime/carrier-dispatch.ts) when any is configured
      ...(app.hasDecorator('carrierDispatch') && app.carrierDispatch ? { fleet: app.carrierDispatch } : {}),
      ...(rules.enabled ? { reassign: (zone: string, nowMs: number, canCommit: () => Promise<boolean>) => reassignment.run(zone, nowMs, canCommit) } : {}),
    },
    options: { intervalMs: config.dispatchIntervalMs, debounceMs: config.dispatchDebounceMs, policy },
  };
}

/** The assignment-update rule's settings (REASSIGN_*). */
export function reassignRules(config: FastifyInstance['config']): ReassignRules {
  return {
    enabled: config.reassign === 'on',
    readyChangeS: config.reassignReadyChangeS,
    minGainS: config.reassignMinGainS,
    nearStoreS: config.reassignNearStoreS,
    maxMoves: config.reassignMaxMoves,
    cooldownS: config.reassignCooldownS,
  };
}

/** The dispatch zone of an order (its pickup), as the app configures zones. */
export function orderZone(app: FastifyInstance, pickup: { lat: number; lng: number }): string {
  return dispatchZoneOf(pickup, app.config.dispatchZoneResolution, app.config.h3Resolution);
}

export const dispatchLoop = fp(
  async function dispatchLoop(app: FastifyInstance) {
    const { config, clock } = app;
    const recorder = new DecisionRecorder(new LatestDecisions(app.redis), app.db, clock, app.log.child({ feature: 'dispatch-decisions' }));
    app.decorate('decisions', recorder);
    const { ports, options } = dispatcherWiring(app);
    const log = ports.log;
    const dispatcher = new Dispatcher(ports, options);
    app.decorate('dispatcher', dispatcher);
    app.orders.lifecycle.onOpen((order) => dispatcher.notifyOpen(orderZone(app, order.pickup)));
    // a new ready time of an assigned order: a round soon, which may move it (assignment updates)
    if (config.reassign === 'on') {
      app.orders.lifecycle.onChange(({ order, event }) => {
        if (event.type === 'ready' && order.status === 'assigned' && order.fleet === 'own') dispatcher.notifyOpen(orderZone(app, order.pickup));
      });
    }

    app.addHook('onReady', async () => {
      recorder.start();
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
      await recorder.stop();
    });
  },
  {
    name: 'dispatchd-dispatch-loop',
    fastify: '5.x',
    dependencies: ['dispatchd-core', 'dispatchd-courier-socket', 'dispatchd-orders'],
  },
);
