/** Couriers and orders placed around a city centre, for the dispatch loop tests. */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/clock.js';
import { orderZone } from '../../src/runtime/dispatch-loop.js';
import type { TestApp } from '../support/index.js';
import { http, WsClient } from './orders-helpers.js';

export interface LatLng {
  lat: number;
  lng: number;
}

/** A point `northM` metres north and `eastM` metres east of `c` (small offsets). */
export function offset(c: LatLng, northM: number, eastM: number): LatLng {
  return { lat: c.lat + northM / 111_320, lng: c.lng + eastM / (111_320 * Math.cos((c.lat * Math.PI) / 180)) };
}

export interface City {
  readonly centre: LatLng;
  readonly zone: string;
  /** Connects courier `id` and reports a position `northM`/`eastM` from the centre (waits for the ack). */
  courier(id: string, northM?: number, eastM?: number, via?: TestApp): Promise<WsClient>;
  /** Places an order of `storeId` picked up at the centre (or extra.pickup); returns its id. */
  order(ext: string, extra?: Record<string, unknown>, storeId?: string): Promise<string>;
}

export function city(app: TestApp, clock: Clock, centre: LatLng, teardown: (fn: () => void) => void): City {
  let seq = 0;
  return {
    centre,
    zone: orderZone(app.app as FastifyInstance, centre),
    async courier(id, northM = 0, eastM = 0, via = app) {
      const c = await WsClient.connect(`${via.wsUrl}/v1/courier`, via.token('courier', id));
      teardown(() => c.close());
      await c.nextOf('task');
      const p = offset(centre, northM, eastM);
      const mine = ++seq;
      c.send({ type: 'loc', seq: mine, ts: clock.now(), lat: p.lat, lng: p.lng });
      const ack = await c.nextOf('ack');
      if (ack.seq !== mine) throw new Error(`position of ${id} refused: ${JSON.stringify(ack)}`);
      return c;
    },
    async order(ext, extra = {}, storeId = 'store-1') {
      const store = app.token('store', storeId);
      const body = { externalId: ext, pickup: { ...centre, address: 'Store 1' }, dropoff: { ...offset(centre, 1000, 800), address: 'Home' }, items: 1, option: 'express', ...extra };
      const res = await http(app.baseUrl, 'POST', '/v1/orders', store, body);
      if (res.status !== 201) throw new Error(`order ${ext} not placed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
  };
}
