/** The console map's sources and layers: H3 cells (fill), orders (pickup → drop-off), couriers (circles). */
import type maplibregl from 'maplibre-gl';
import { emptyCollection, point, setData } from '../shared/map';
import type { ConsoleState } from './types';

export const COURIER_COLORS: Record<string, string> = {
  free: '#2da44e',
  offered: '#d29922',
  busy: '#1f6feb',
  paused: '#8c959f',
  offline: '#c3c9d0',
};

const WAITING = ['placed', 'ready', 'offered'];

export function addLayers(map: maplibregl.Map): void {
  for (const id of ['cells', 'orders', 'pickups', 'dropoffs', 'couriers']) setData(map, id, emptyCollection());
  map.addLayer({
    id: 'cells',
    type: 'fill',
    source: 'cells',
    paint: {
      // open orders minus free couriers: red where demand outruns supply, green where couriers are spare
      'fill-color': ['interpolate', ['linear'], ['get', 'balance'], -3, '#2da44e', 0, '#d0d7de', 3, '#cf222e'],
      'fill-opacity': 0.35,
    },
  });
  map.addLayer({ id: 'cells-outline', type: 'line', source: 'cells', paint: { 'line-color': '#8c959f', 'line-width': 0.5 } });
  map.addLayer({
    id: 'orders',
    type: 'line',
    source: 'orders',
    paint: {
      'line-color': ['case', ['get', 'waiting'], '#cf222e', '#1f6feb'],
      'line-width': ['case', ['get', 'selected'], 4, 2],
      'line-dasharray': [2, 1],
    },
  });
  map.addLayer({
    id: 'pickups',
    type: 'circle',
    source: 'pickups',
    paint: { 'circle-radius': 4, 'circle-color': '#24292f' },
  });
  map.addLayer({
    id: 'dropoffs',
    type: 'circle',
    source: 'dropoffs',
    paint: { 'circle-radius': 4, 'circle-color': '#ffffff', 'circle-stroke-color': '#24292f', 'circle-stroke-width': 1.5 },
  });
  map.addLayer({
    id: 'couriers',
    type: 'circle',
    source: 'couriers',
    paint: {
      'circle-radius': ['case', ['get', 'selected'], 10, 7],
      'circle-color': ['match', ['get', 'status'], ...Object.entries(COURIER_COLORS).flat(), '#8c959f'] as unknown as string,
      'circle-stroke-color': ['case', ['get', 'selected'], '#000000', '#ffffff'],
      'circle-stroke-width': 2,
    },
  });
}

export function updateLayers(map: maplibregl.Map, state: ConsoleState, selected: { orderId: string; courierId: string }): void {
  setData(map, 'cells', {
    type: 'FeatureCollection',
    features: state.cells.map((c) => ({
      type: 'Feature',
      geometry: { type: 'Polygon', coordinates: [c.boundary] },
      properties: { cell: c.cell, openOrders: c.openOrders, freeCouriers: c.freeCouriers, balance: c.openOrders - c.freeCouriers },
    })),
  });
  setData(map, 'orders', {
    type: 'FeatureCollection',
    features: state.orders.map((o) => ({
      type: 'Feature',
      geometry: { type: 'LineString', coordinates: [[o.pickup.lng, o.pickup.lat], [o.dropoff.lng, o.dropoff.lat]] },
      properties: { id: o.id, status: o.status, waiting: WAITING.includes(o.status), selected: o.id === selected.orderId },
    })),
  });
  setData(map, 'pickups', { type: 'FeatureCollection', features: state.orders.map((o) => point(o.pickup.lng, o.pickup.lat, { id: o.id })) });
  setData(map, 'dropoffs', { type: 'FeatureCollection', features: state.orders.map((o) => point(o.dropoff.lng, o.dropoff.lat, { id: o.id })) });
  setData(map, 'couriers', {
    type: 'FeatureCollection',
    features: state.couriers.map((c) => point(c.lng, c.lat, { id: c.courierId, status: c.status, load: c.load, selected: c.courierId === selected.courierId })),
  });
}
