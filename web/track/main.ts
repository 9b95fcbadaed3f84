/**
 * The customer tracking page, /track/<token>: the token (a tracking JWT from POST
 * /v1/orders/:id/tracking-link) names its order; the page follows WS /v1/track/:orderId (snapshot,
 * order.status, position frames) and shows status, ETA, the store, the destination and the courier.
 */
import type maplibregl from 'maplibre-gl';
import { socketUrl } from '../shared/api';
import { byId, clockTime, jwtPayload } from '../shared/format';
import { openLiveSocket } from '../shared/live-socket';
import { createMap, emptyCollection, fitTo, point, setData, whenLoaded, type LngLat } from '../shared/map';

interface Place {
  lat: number;
  lng: number;
}
interface TrackState {
  orderId: string;
  status: string;
  eta: number | null;
  promisedBy: number | null;
  pickup: Place | null;
  dropoff: Place | null;
  courier: (Place & { coarse: boolean }) | null;
  frames: number;
  refused: string | null;
}
declare global {
  interface Window {
    /** For debugging and the browser tests. */
    dispatchdTrack: { state: TrackState; map: maplibregl.Map | null };
  }
}

const STATUS_TEXT: Record<string, string> = {
  placed: 'Order received',
  ready: 'Your order is ready, finding a courier',
  offered: 'Finding a courier',
  assigned: 'A courier is on the way to the store',
  at_pickup: 'The courier is at the store',
  picked_up: 'On the way to you',
  at_dropoff: 'The courier has arrived',
  delivered: 'Delivered. Enjoy!',
  cancelled: 'This order was cancelled',
  returning: 'The order is being returned to the store',
  returned: 'The order was returned to the store',
  failed: 'The delivery could not be completed',
};
/** Which progress steps a status has reached. */
const STEP_ORDER = ['placed', 'assigned', 'picked_up', 'delivered'];
const REACHES: Record<string, number> = { placed: 0, ready: 0, offered: 0, assigned: 1, at_pickup: 1, picked_up: 2, at_dropoff: 2, delivered: 3, returning: 2 };
const REFUSED_TEXT: Record<string, string> = {
  tracking_expired: 'This tracking link has expired.',
  forbidden: 'This tracking link is not valid for this order.',
  order_not_found: 'We could not find this order.',
  unauthorized: 'This tracking link is invalid or has expired.',
};

const token = decodeURIComponent(location.pathname.replace(/^\/track\//, '').replace(/\/$/, ''));
const claims = jwtPayload(token);
const orderId = typeof claims?.order === 'string' ? claims.order : '';
const state: TrackState = { orderId, status: '', eta: null, promisedBy: null, pickup: null, dropoff: null, courier: null, frames: 0, refused: null };
const map = createMap(byId('map'), [13.405, 52.52], 13);
window.dispatchdTrack = { state, map };
let layersReady = false;
let fitted = false;

if (map) {
  whenLoaded(map, () => {
    for (const id of ['route', 'places', 'courier']) setData(map, id, emptyCollection());
    map.addLayer({ id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#1f6feb', 'line-width': 3, 'line-dasharray': [2, 1.5], 'line-opacity': 0.6 } });
    map.addLayer({
      id: 'places',
      type: 'circle',
      source: 'places',
      paint: {
        'circle-radius': 8,
        'circle-color': ['match', ['get', 'kind'], 'store', '#24292f', '#ffffff'],
        'circle-stroke-color': ['match', ['get', 'kind'], 'store', '#ffffff', '#cf222e'],
        'circle-stroke-width': 3,
      },
    });
    map.addLayer({
      id: 'courier',
      type: 'circle',
      source: 'courier',
      paint: {
        // before pickup the position is only the courier's area: drawn larger and paler
        'circle-radius': ['case', ['get', 'coarse'], 18, 9],
        'circle-color': '#1f6feb',
        'circle-opacity': ['case', ['get', 'coarse'], 0.35, 1],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2,
      },
    });
    layersReady = true;
    render();
  });
}

function render(): void {
  const status = byId('status');
  if (state.refused) {
    status.textContent = REFUSED_TEXT[state.refused] ?? 'Tracking is not available for this link.';
    status.dataset.status = 'refused';
    return;
  }
  status.textContent = STATUS_TEXT[state.status] ?? state.status;
  status.dataset.status = state.status;
  const eta = byId('eta');
  eta.textContent = state.status === 'delivered' ? 'delivered' : state.eta === null ? '–' : clockTime(state.eta);
  eta.dataset.eta = state.eta === null ? '' : String(state.eta);
  byId('promised').textContent = state.promisedBy === null ? '–' : clockTime(state.promisedBy);
  const reached = REACHES[state.status] ?? -1;
  for (const li of document.querySelectorAll<HTMLLIElement>('#steps li')) {
    li.classList.toggle('done', STEP_ORDER.indexOf(li.dataset.step ?? '') <= reached);
  }
  byId('note').textContent = state.courier?.coarse ? 'The courier’s exact position is shown once your order is picked up.' : '';
  if (!map || !layersReady) return;
  const places = [
    ...(state.pickup ? [point(state.pickup.lng, state.pickup.lat, { kind: 'store' })] : []),
    ...(state.dropoff ? [point(state.dropoff.lng, state.dropoff.lat, { kind: 'home' })] : []),
  ];
  setData(map, 'places', { type: 'FeatureCollection', features: places });
  setData(map, 'route', { type: 'FeatureCollection', features: routeLine() });
  setData(map, 'courier', {
    type: 'FeatureCollection',
    features: state.courier ? [point(state.courier.lng, state.courier.lat, { coarse: state.courier.coarse })] : [],
  });
  if (!fitted && places.length) {
    const pts: LngLat[] = [state.pickup, state.dropoff, state.courier].filter((p): p is Place & { coarse?: boolean } => !!p).map((p) => [p.lng, p.lat]);
    fitTo(map, pts, 16);
    fitted = true;
  }
}

/** The way still ahead, straight legs: courier → store → you before pickup, courier → you after. */
function routeLine(): GeoJSON.Feature[] {
  if (!state.pickup || !state.dropoff) return [];
  const ahead = REACHES[state.status] ?? -1;
  if (ahead >= 3 || ['cancelled', 'failed', 'returned', 'returning'].includes(state.status)) return [];
  const stops: Place[] = [];
  if (state.courier) stops.push(state.courier);
  if (ahead < 2) stops.push(state.pickup);
  stops.push(state.dropoff);
  if (stops.length < 2) return [];
  return [{ type: 'Feature', geometry: { type: 'LineString', coordinates: stops.map((p) => [p.lng, p.lat]) }, properties: {} }];
}

type Frame = { type: string; [k: string]: unknown };
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const place = (x: unknown): Place | null => {
  const p = x as { lat?: unknown; lng?: unknown } | null;
  return p && typeof p.lat === 'number' && typeof p.lng === 'number' ? { lat: p.lat, lng: p.lng } : null;
};

function onFrame(f: Frame): void {
  state.frames++;
  if (f.type === 'snapshot') {
    state.status = String(f.status);
    state.eta = num(f.eta);
    state.promisedBy = num(f.promisedBy);
    state.pickup = place(f.pickup);
    state.dropoff = place(f.dropoff);
    const pos = f.position as { lat: number; lng: number; coarse: boolean } | null;
    state.courier = pos ? { lat: pos.lat, lng: pos.lng, coarse: pos.coarse } : null;
  } else if (f.type === 'order.status') {
    state.status = String(f.status);
    if (['delivered', 'cancelled', 'returned', 'failed'].includes(state.status)) state.eta = null;
  } else if (f.type === 'position') {
    if (typeof f.status === 'string') state.status = f.status;
    state.eta = num(f.eta);
    state.courier = { lat: Number(f.lat), lng: Number(f.lng), coarse: f.coarse === true };
  } else {
    return;
  }
  render();
}

if (!orderId) {
  state.refused = 'unauthorized';
  render();
} else {
  openLiveSocket(() => socketUrl(`/v1/track/${encodeURIComponent(orderId)}`, token), {
    onFrame,
    onStatus() {},
    onRefused(reason) {
      state.refused = reason;
      render();
    },
  });
}
