/**
 * The console map's sources and layers: H3 cells (fill), orders (store → drop-off), stores, drop-offs,
 * couriers (circles), and for the opened courier its planned route through its stops and its recent
 * trail. Only the sources whose content changed are sent to MapLibre (setData is the costly part).
 */
import type maplibregl from 'maplibre-gl';
import { emptyCollection, point, setData, type LngLat } from '../shared/map';
import type { ConsoleCourier, ConsoleOrder, ConsoleState, ZoneView } from './types';
import { isWaiting } from './view';

export const COURIER_COLORS: Record<string, string> = {
  free: '#2da44e',
  busy: '#1f6feb',
  paused: '#8c959f',
  offline: '#c3c9d0',
};

export const HOVER_LAYERS = ['couriers', 'stores', 'dropoffs'] as const;

/** Zone colours by who serves them: own couriers, a carrier, or both (grey when inactive). */
export const ZONE_COLORS: Record<ZoneView['settings']['fleet'] | 'inactive', string> = {
  own: '#0969da',
  carrier: '#bc4c00',
  both: '#8250df',
  inactive: '#8c959f',
};

/** The zone's label text: its name and who serves it ("Mitte · own", "Nord · carrier simcarrier", "Süd · own + simcarrier"). */
export function zoneServedBy(z: ZoneView): string {
  const { fleet, carrier } = z.settings;
  if (fleet === 'own') return 'own';
  if (fleet === 'carrier') return `carrier${carrier ? ` ${carrier}` : ''}`;
  return `own + ${carrier ?? 'carrier'}`;
}

/** Where a zone's label goes: the mean of the outer ring of its largest polygon (by vertex count). */
export function zoneLabelAt(z: ZoneView): LngLat {
  const polygons = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
  const ring = polygons.map((p) => p[0]!).reduce((a, b) => (b.length > a.length ? b : a));
  const pts = ring.slice(0, -1);
  return [pts.reduce((s, p) => s + p[0], 0) / pts.length, pts.reduce((s, p) => s + p[1], 0) / pts.length];
}

/** The zones as GeoJSON features with what the layers style on. */
export function zoneFeatures(zones: readonly ZoneView[]): GeoJSON.FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: zones.map((z) => ({
      type: 'Feature',
      geometry: z.geometry as GeoJSON.Geometry,
      properties: { id: z.id, name: z.settings.name, fleet: z.settings.fleet, carrier: z.settings.carrier ?? '', servedBy: zoneServedBy(z), active: z.settings.active },
    })),
  };
}

export function addLayers(map: maplibregl.Map): void {
  for (const id of ['zones', 'cells', 'orders', 'stores', 'dropoffs', 'couriers', 'route', 'route-stops', 'trail']) setData(map, id, emptyCollection());
  // delivery zones under everything else: a light fill and a solid edge coloured by who serves them
  const zoneColor = ['case', ['!', ['get', 'active']], ZONE_COLORS.inactive, ['match', ['get', 'fleet'], 'carrier', ZONE_COLORS.carrier, 'both', ZONE_COLORS.both, ZONE_COLORS.own]] as unknown as string;
  map.addLayer({ id: 'zones-fill', type: 'fill', source: 'zones', paint: { 'fill-color': zoneColor, 'fill-opacity': 0.08 } });
  map.addLayer({ id: 'zones-outline', type: 'line', source: 'zones', paint: { 'line-color': zoneColor, 'line-width': 2, 'line-opacity': 0.8 } });
  map.addLayer({
    id: 'cells',
    type: 'fill',
    source: 'cells',
    paint: {
      // open orders minus free couriers: red where demand outruns supply, green where couriers are spare
      'fill-color': ['interpolate', ['linear'], ['get', 'balance'], -3, '#2da44e', 0, '#d0d7de', 3, '#cf222e'],
      'fill-opacity': 0.3,
    },
  });
  map.addLayer({ id: 'cells-outline', type: 'line', source: 'cells', paint: { 'line-color': '#8c959f', 'line-width': 0.5 } });
  map.addLayer({ id: 'trail', type: 'line', source: 'trail', paint: { 'line-color': '#6e40c9', 'line-width': 3, 'line-opacity': 0.55 } });
  map.addLayer({
    id: 'orders',
    type: 'line',
    source: 'orders',
    paint: {
      'line-color': ['case', ['get', 'late'], '#b42318', ['get', 'waiting'], '#cf222e', '#1f6feb'],
      'line-width': ['case', ['get', 'selected'], 4, 1.5],
      'line-opacity': ['case', ['get', 'selected'], 1, 0.6],
      'line-dasharray': [2, 1],
    },
  });
  map.addLayer({ id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#0a3069', 'line-width': 4 } });
  map.addLayer({
    id: 'route-stops',
    type: 'circle',
    source: 'route-stops',
    paint: { 'circle-radius': 7, 'circle-color': '#0a3069', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
  });
  map.addLayer({
    id: 'stores',
    type: 'circle',
    source: 'stores',
    paint: { 'circle-radius': 6, 'circle-color': '#24292f', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 },
  });
  map.addLayer({
    id: 'dropoffs',
    type: 'circle',
    source: 'dropoffs',
    paint: {
      'circle-radius': ['case', ['get', 'selected'], 7, 4],
      'circle-color': '#ffffff',
      'circle-stroke-color': ['case', ['get', 'late'], '#b42318', '#24292f'],
      'circle-stroke-width': 1.5,
    },
  });
  map.addLayer({
    id: 'couriers',
    type: 'circle',
    source: 'couriers',
    paint: {
      'circle-radius': ['case', ['get', 'selected'], 10, 6],
      'circle-color': ['match', ['get', 'status'], ...Object.entries(COURIER_COLORS).flat(), '#8c959f'] as unknown as string,
      'circle-stroke-color': ['case', ['get', 'selected'], '#000000', '#ffffff'],
      'circle-stroke-width': ['case', ['get', 'selected'], 3, 1.5],
    },
  });
}

export interface Store {
  storeId: string;
  lat: number;
  lng: number;
  open: number;
}

/** Stores with orders in play, where their orders are picked up. */
export function storesOf(orders: readonly ConsoleOrder[]): Store[] {
  const stores = new Map<string, Store>();
  for (const o of orders) {
    const s = stores.get(o.storeId);
    if (s) s.open++;
    else stores.set(o.storeId, { storeId: o.storeId, lat: o.pickup.lat, lng: o.pickup.lng, open: 1 });
  }
  return [...stores.values()];
}

/** Remembers what each source last got, so unchanged sources are not re-sent. */
export class LayerFeeder {
  private keys = new Map<string, string>();
  private versions = new WeakMap<object, number>();
  private nextVersion = 1;

  /** A number per list object: the same list gets the same number. */
  private version(list: object): number {
    let v = this.versions.get(list);
    if (v === undefined) this.versions.set(list, (v = this.nextVersion++));
    return v;
  }

  constructor(private readonly map: maplibregl.Map) {}

  private feed(id: string, key: string, build: () => GeoJSON.FeatureCollection): void {
    if (this.keys.get(id) === key) return;
    this.keys.set(id, key);
    setData(this.map, id, build());
  }

  update(state: ConsoleState, couriers: readonly ConsoleCourier[], orders: readonly ConsoleOrder[], late: ReadonlySet<string>, selected: { orderId: string; courierId: string }): void {
    this.feed('cells', state.cells.map((c) => `${c.cell}:${c.openOrders}:${c.freeCouriers}`).join(), () => ({
      type: 'FeatureCollection',
      features: state.cells.map((c) => ({
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [c.boundary] },
        properties: { cell: c.cell, openOrders: c.openOrders, freeCouriers: c.freeCouriers, balance: c.openOrders - c.freeCouriers },
      })),
    }));
    const orderKey = `${selected.orderId}|${orders.map((o) => `${o.id}:${o.status}:${late.has(o.id) ? 1 : 0}`).join()}`;
    this.feed('orders', orderKey, () => ({
      type: 'FeatureCollection',
      features: orders.map((o) => ({
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: [[o.pickup.lng, o.pickup.lat], [o.dropoff.lng, o.dropoff.lat]] },
        properties: { id: o.id, status: o.status, waiting: isWaiting(o), late: late.has(o.id), selected: o.id === selected.orderId },
      })),
    }));
    this.feed('dropoffs', orderKey, () => ({
      type: 'FeatureCollection',
      features: orders.map((o) => point(o.dropoff.lng, o.dropoff.lat, { id: o.id, late: late.has(o.id), selected: o.id === selected.orderId })),
    }));
    const stores = storesOf(orders);
    this.feed('stores', stores.map((s) => `${s.storeId}:${s.open}`).join(), () => ({
      type: 'FeatureCollection',
      features: stores.map((s) => point(s.lng, s.lat, { id: s.storeId, open: s.open })),
    }));
    // a delta without courier changes keeps the same list (web/console/delta.ts): then nothing is re-sent
    this.feed('couriers', `${this.version(couriers)}|${selected.courierId}`, () => ({
      type: 'FeatureCollection',
      features: couriers.map((c) => point(c.lng, c.lat, { id: c.courierId, status: c.status, load: c.load, selected: c.courierId === selected.courierId })),
    }));
  }

  /** The delivery zones (GET /v1/zones), re-sent only when the list changed. */
  zones(zones: readonly ZoneView[]): void {
    this.feed('zones', zones.map((z) => `${z.id}:${z.version}:${z.settings.active}`).join(), () => zoneFeatures(zones));
  }

  /** The opened courier's planned route (from its position through its stops) and its trail; empty lists clear them. */
  courierLines(route: LngLat[], stops: { lng: number; lat: number; kind: string; orderId: string }[], trail: LngLat[]): void {
    const line = (coords: LngLat[]): GeoJSON.FeatureCollection => ({
      type: 'FeatureCollection',
      features: coords.length >= 2 ? [{ type: 'Feature', geometry: { type: 'LineString', coordinates: coords }, properties: {} }] : [],
    });
    this.feed('route', JSON.stringify(route), () => line(route));
    this.feed('route-stops', JSON.stringify(stops), () => ({ type: 'FeatureCollection', features: stops.map((s) => point(s.lng, s.lat, { kind: s.kind, orderId: s.orderId })) }));
    this.feed('trail', JSON.stringify(trail), () => line(trail));
  }
}
