/**
 * Delivery zones on this node, decorated as `app.zones`: every zone from Postgres in an in-memory H3
 * index (domain/zone-index.ts), rebuilt when any node changes a zone (Redis pub/sub channel `zones`)
 * and, in case such a message was lost, every ZONES_RELOAD_MS anyway.
 *
 * With no zone stored, the built-in `default` zone stands in: the SERVICE_AREA box when set, else the
 * whole world, with the PROMISE_* minutes and the default fee rules — so a deployment without zones
 * behaves as before. The first stored zone replaces it.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { FeeRules } from '../domain/fees.js';
import type { LatLng } from '../domain/geo.js';
import { ZONE_INDEX_RESOLUTION, ZoneIndex, type ZoneCells } from '../domain/zone-index.js';
import { boxGeometry, type Zone, type ZoneSettings } from '../domain/zones.js';
import { PgZoneRepository } from '../store/pg/zone-repository.js';
import { RedisMessageBus } from '../store/redis/pubsub.js';
import { repeatOnClock, type Periodic } from './periodic.js';

export const ZONES_CHANNEL = 'zones';
export const DEFAULT_ZONE_ID = 'default';
/** Fee rules of the built-in default zone (configure zones for real prices). */
export const DEFAULT_FEE_RULES: FeeRules = { currency: 'EUR', base: 3, perKm: 1, surgeStep: 0.5, surgeCap: 2 };
/** A lost pub/sub message is repaired by this periodic reload (service-clock ms). */
const ZONES_RELOAD_MS = 60_000;

export function defaultZone(config: Pick<Config, 'serviceArea' | 'promiseExpressMin' | 'promiseStandardMin'>): Zone {
  const settings: ZoneSettings = {
    name: config.serviceArea ? 'SERVICE_AREA' : 'everywhere',
    active: true,
    priority: 0,
    timezone: 'UTC',
    hours: [],
    options: { express: { promiseMin: config.promiseExpressMin }, standard: { promiseMin: config.promiseStandardMin }, scheduled: { promiseMin: 0 } },
    fee: DEFAULT_FEE_RULES,
    safetyMarginMin: 0,
    fleet: 'own',
    carrier: null,
  };
  return { id: DEFAULT_ZONE_ID, geometry: config.serviceArea ? boxGeometry(config.serviceArea) : null, settings, updatedAt: 0 };
}

export class ZoneCatalog {
  private current: ZoneIndex;
  private loading: Promise<void> | null = null;
  private again = false;
  /** Cells of the zones indexed last time: a reload recomputes only the zones that changed. */
  private readonly cells = new Map<string, ZoneCells>();
  /** Bumped on every rebuild (tests wait on it). */
  generation = 0;

  constructor(
    readonly repo: PgZoneRepository,
    private readonly fallback: Zone,
  ) {
    this.current = new ZoneIndex([fallback]);
  }

  get index(): ZoneIndex {
    return this.current;
  }

  /** The active zone containing the point (highest priority), or null: outside the service area. */
  locate(p: LatLng): Zone | null {
    return this.current.find(p, (z) => z.settings.active);
  }

  /** Reloads from Postgres and swaps the index in; calls during a reload run once more after it. */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          const zones = await this.repo.list();
          this.current = new ZoneIndex(zones.length ? zones : [this.fallback], ZONE_INDEX_RESOLUTION, this.cells);
          this.generation++;
        } while (this.again);
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    zones: ZoneCatalog & { changed(id: string): Promise<void> };
  }
}

export const zoneServices = fp(
  async function zoneServices(app: FastifyInstance) {
    const log = app.log.child({ feature: 'zones' });
    const catalog = new ZoneCatalog(new PgZoneRepository(app.db), defaultZone(app.config));
    // its own subscriber connection: the zones must be loaded before the order services start
    const bus = new RedisMessageBus(app.redis, (err) => log.warn({ err }, 'bad zones message'));
    const reload = () => catalog.reload().catch((err) => log.error({ err }, 'zone reload failed'));
    const changed = async (id: string) => {
      await catalog.reload();
      await bus.publish(ZONES_CHANNEL, { id }).catch((err) => log.error({ err, zone: id }, 'zone change not published; other nodes reload within a minute'));
    };
    app.decorate('zones', Object.assign(catalog, { changed }));

    let periodic: Periodic | null = null;
    let unsubscribe: (() => Promise<void>) | null = null;
    app.addHook('onReady', async () => {
      unsubscribe = await bus.subscribe(ZONES_CHANNEL, () => void reload());
      await catalog.reload();
      periodic = repeatOnClock(app.clock, ZONES_RELOAD_MS, () => catalog.reload(), (err) => log.error({ err }, 'zone reload failed'));
    });
    app.addHook('onClose', async () => {
      await periodic?.stop();
      await unsubscribe?.();
      await bus.close();
    });
  },
  { name: 'dispatchd-zones', fastify: '5.x', dependencies: ['dispatchd-core'] },
);
