/**
 * The dispatcher console: live state over WS /v1/console (map, KPIs, alerts, lists), details and actions
 * over HTTP. The token comes from `?token=` (then removed from the address bar) or the login form, and
 * is kept in sessionStorage for this tab only. Every visible word comes from web/shared/messages.ts.
 */
import type maplibregl from 'maplibre-gl';
import { api, socketUrl } from '../shared/api';
import { basemapStyle } from '../shared/basemap';
import { byId, el, jwtPayload } from '../shared/format';
import { applyStatic, fmt, getLocale, LOCALES, onLocaleChange, setCurrency, setLocale, t, tMaybe } from '../shared/i18n';
import type { Locale } from '../shared/messages';
import { openLiveSocket } from '../shared/live-socket';
import { createMap, fitTo, whenLoaded, type LngLat } from '../shared/map';
import { DEFAULT_PAGE_CONFIG, loadPageConfig, type PageConfig } from '../shared/page-config';
import { KpiCharts } from './charts';
import { StateMerger, type ConsoleDelta } from './delta';
import { DetailPanel } from './details';
import { MapLabels, type LabelPoint } from './labels';
import { courierRows, orderRows } from './lists';
import { addLayers, HOVER_LAYERS, LayerFeeder, storesOf, zoneLabelAt, zoneServedBy } from './map-layers';
import { COURIER_STATUSES, type ConsoleState, type FleetKpis, type ZoneView } from './types';
import { alertsOf, alertText, filterCouriers, filterOrders, isLate, LIVE_ORDER_STATUSES, type Alert, type Filters } from './view';

const TOKEN_KEY = 'dispatchd.console.token';
/** Alerts listed (the badge counts them all). */
const MAX_ALERTS = 100;
/** Berlin until the first state says where the action is. */
const DEFAULT_CENTER: LngLat = [13.405, 52.52];

interface ConsoleHandle {
  state: ConsoleState | null;
  frames: number;
  map: maplibregl.Map | null;
  selected: { orderId: string; courierId: string };
  config: PageConfig;
  alerts: Alert[];
  /** Applies a state (or delta) as if it came from the socket and returns the milliseconds it took. */
  apply(frame: ConsoleState | ConsoleDelta): number;
  /** Milliseconds each applied frame took (merging a delta and rendering), newest last (bounded). */
  applyMs: number[];
  labels: MapLabels | null;
  /** The delivery zones drawn on the map (GET /v1/zones, reloaded when the state's zonesVersion changes). */
  zones: ZoneView[];
  /** Milliseconds of each part of the last applied state (where a frame's time goes). */
  phaseMs: Record<string, number>;
  /** True once the dispatcher moved the map: it is not re-fitted any more until "fit all". */
  userMoved: boolean;
  setLocale(locale: Locale): void;
}
declare global {
  interface Window {
    /** For debugging, the browser tests and the benchmark. */
    dispatchdConsole: ConsoleHandle;
  }
}

const noApply = () => 0;
const handle: ConsoleHandle = {
  state: null,
  frames: 0,
  map: null,
  selected: { orderId: '', courierId: '' },
  config: DEFAULT_PAGE_CONFIG,
  alerts: [],
  apply: noApply,
  applyMs: [],
  labels: null,
  zones: [],
  phaseMs: {},
  userMoved: false,
  setLocale,
};
window.dispatchdConsole = handle;

function takeToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // keep the credential out of the address bar, history and bookmarks
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showLogin(message = ''): void {
  byId('app').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message;
}

function fillSelect(select: HTMLSelectElement, options: [string, string][]): void {
  const value = select.value;
  select.replaceChildren(
    ...options.map(([v, label]) => {
      const o = el('option', label);
      o.value = v;
      return o;
    }),
  );
  select.value = options.some(([v]) => v === value) ? value : options[0]![0];
}

/** The pickers whose words depend on the language. */
function fillPickers(): void {
  fillSelect(byId<HTMLSelectElement>('lang'), LOCALES.map((l) => [l, tMaybe(`lang.${l}`)]));
  byId<HTMLSelectElement>('lang').value = getLocale();
  fillSelect(byId<HTMLSelectElement>('filter-order'), [
    ['', t('filter.allOrders')],
    ['waiting', t('filter.waiting')],
    ['late', t('filter.late')],
    ...LIVE_ORDER_STATUSES.map((s): [string, string] => [s, tMaybe(`order.${s}`)]),
  ]);
  fillSelect(byId<HTMLSelectElement>('filter-courier'), [['', t('filter.allCouriers')], ...COURIER_STATUSES.map((s): [string, string] => [s, tMaybe(`status.${s}`)])]);
  byId<HTMLTextAreaElement>('token-input').placeholder = t('login.placeholder');
}

async function start(token: string): Promise<void> {
  const claims = jwtPayload(token);
  if (!claims) return showLogin(t('login.notJwt'));
  if (claims.role !== 'dispatcher' && claims.role !== 'admin') return showLogin(t('login.wrongRole', { role: String(claims.role) }));
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('who').textContent = t('header.who', { sub: String(claims.sub), role: String(claims.role) });

  const config = await loadPageConfig();
  handle.config = config;
  setCurrency(config.currency);
  const map = createMap(byId('map'), DEFAULT_CENTER, 12, basemapStyle(config), (why) => t('map.unavailable', { why }));
  handle.map = map;
  let feeder: LayerFeeder | null = null;
  const filters: Filters = { query: '', orderStatus: '', courierStatus: '' };
  const charts = new KpiCharts(token);

  const details = new DetailPanel({
    token,
    state: () => handle.state,
    drawCourier: (route, stops, trail) => feeder?.courierLines(route, stops, trail),
    openOrder: (id) => select({ orderId: id }),
    openCourier: (id) => select({ courierId: id }),
    closed: () => {
      handle.selected = { orderId: '', courierId: '' };
      if (handle.state) render(handle.state);
    },
  });

  if (map) {
    whenLoaded(map, () => {
      addLayers(map);
      feeder = new LayerFeeder(map);
      handle.labels = new MapLabels(map, byId('labels'));
      if (handle.state) render(handle.state);
    });
    // a move the dispatcher made (drag, wheel, keys) — not our own fitBounds — stops the automatic fitting
    map.on('movestart', (e: { originalEvent?: unknown }) => {
      if (e.originalEvent) handle.userMoved = true;
    });
    map.on('click', 'couriers', (e) => {
      const id = e.features?.[0]?.properties?.id;
      if (typeof id === 'string') select({ courierId: id });
    });
    for (const layer of ['orders', 'dropoffs']) {
      map.on('click', layer, (e) => {
        const id = e.features?.[0]?.properties?.id;
        if (typeof id === 'string') select({ orderId: id });
      });
    }
    hover(map);
  }
  byId('fit-all').onclick = () => {
    handle.userMoved = false;
    fitAll(true);
  };

  const conn = byId('conn');
  let connStatus = 'connecting';
  const showConn = () => {
    conn.dataset.status = connStatus;
    conn.textContent = tMaybe(`conn.${connStatus}`);
  };
  showConn();
  const merger = new StateMerger();
  // deltas: after one full state, only the couriers and orders that changed
  const socket = openLiveSocket(() => `${socketUrl('/v1/console', token)}&delta=1`, {
    onStatus(status) {
      connStatus = status;
      showConn();
    },
    onRefused(reason) {
      sessionStorage.removeItem(TOKEN_KEY);
      socket.close();
      showLogin(t('login.refused', { reason }));
    },
    onFrame(frame) {
      if (frame.type === 'state' || frame.type === 'delta') {
        handle.frames++;
        apply(frame as unknown as ConsoleState | ConsoleDelta);
      } else if (frame.type === 'error') {
        conn.dataset.status = 'reconnecting';
        conn.textContent = t('conn.unavailable');
      }
    },
  });
  handle.apply = apply;

  byId('logout').onclick = () => {
    socket.close();
    sessionStorage.removeItem(TOKEN_KEY);
    location.replace('/console');
  };

  const search = byId<HTMLInputElement>('search');
  search.oninput = () => {
    filters.query = search.value;
    if (handle.state) render(handle.state);
  };
  // Enter on an exact id (order id, external id, courier id) opens it
  search.onkeydown = (e) => {
    if (e.key !== 'Enter' || !handle.state) return;
    const q = search.value.trim().toLowerCase();
    const order = handle.state.orders.find((o) => o.id.toLowerCase() === q || o.externalId.toLowerCase() === q);
    if (order) return select({ orderId: order.id });
    const courier = handle.state.couriers.find((c) => c.courierId.toLowerCase() === q);
    if (courier) select({ courierId: courier.courierId });
  };
  byId<HTMLSelectElement>('filter-order').onchange = (e) => {
    filters.orderStatus = (e.target as HTMLSelectElement).value;
    if (handle.state) render(handle.state);
  };
  byId<HTMLSelectElement>('filter-courier').onchange = (e) => {
    filters.courierStatus = (e.target as HTMLSelectElement).value;
    if (handle.state) render(handle.state);
  };
  byId('alerts-toggle').onclick = () => {
    byId('alerts').hidden = !byId('alerts').hidden;
  };

  onLocaleChange(() => {
    courierTable.reset();
    orderTable.reset();
    alertsKey = '';
    showConn();
    byId('who').textContent = t('header.who', { sub: String(claims.sub), role: String(claims.role) });
    charts.draw();
    if (handle.state) render(handle.state);
    const open = details.current;
    if (open) void (open.kind === 'order' ? details.openOrder(open.id) : details.openCourier(open.id));
  });

  function apply(frame: ConsoleState | ConsoleDelta): number {
    const t0 = performance.now();
    const state = merger.take(frame);
    if (!state) return 0;
    handle.phaseMs = { merge: performance.now() - t0 };
    render(state);
    const ms = performance.now() - t0;
    handle.applyMs.push(ms);
    if (handle.applyMs.length > 1000) handle.applyMs.shift();
    return ms;
  }

  let lateNow: ReadonlySet<string> = new Set();
  const now = () => handle.state?.at ?? 0;
  const courierTable = courierRows(document.querySelector('#couriers tbody')!, now, () => handle.selected.courierId, (id) => select({ courierId: id }));
  const orderTable = orderRows(document.querySelector('#orders tbody')!, now, () => lateNow, () => handle.selected.orderId, (id) => select({ orderId: id }));

  function fitAll(force: boolean): void {
    const state = handle.state;
    if (!map || !state || (handle.userMoved && !force)) return;
    // the data's bounding box, without building a list of 10,000 points every second
    let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
    const add = (lng: number, lat: number) => {
      if (lng < w) w = lng;
      if (lng > e) e = lng;
      if (lat < s) s = lat;
      if (lat > n) n = lat;
    };
    for (const c of state.couriers) add(c.lng, c.lat);
    for (const o of state.orders) {
      add(o.pickup.lng, o.pickup.lat);
      add(o.dropoff.lng, o.dropoff.lat);
    }
    // nothing live yet: show the delivery zones (the service area) instead
    if (w === Infinity) for (const z of handle.zones) for (const poly of z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates) for (const [lng, lat] of poly[0]!) add(lng, lat);
    if (w === Infinity) return;
    // follow the data while the dispatcher has not moved the map: refit when something is out of view
    const b = map.getBounds();
    if (!force && fittedOnce && b.contains([w, s]) && b.contains([e, n])) return;
    fitTo(map, [[w, s], [e, n]]);
    fittedOnce = true;
  }
  let fittedOnce = false;

  function render(state: ConsoleState): void {
    let mark = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      handle.phaseMs[name] = now - mark;
      mark = now;
    };
    handle.state = state;
    byId('clock').textContent = t('header.clock', { time: fmt.timeSec(state.at) });
    renderKpis(state);
    const orders = filterOrders(state.orders, filters, state.at);
    const couriers = filterCouriers(state.couriers, filters);
    const late = new Set(state.orders.filter((o) => isLate(o, state.at)).map((o) => o.id));
    phase('filter');
    renderAlerts(state);
    phase('alerts');
    lateNow = late;
    courierTable.update(couriers);
    orderTable.update(orders);
    byId('couriers-count').textContent = count(couriers.length, state.couriers.length, state.truncated.couriers);
    byId('orders-count').textContent = count(orders.length, state.orders.length, state.truncated.orders);
    phase('lists');
    if (map && feeder) {
      feeder.update(state, couriers, orders, late, handle.selected);
      phase('sources');
      fitAll(false);
      phase('fit');
      syncZones(state.zonesVersion);
      handle.labels?.set(
        [...zoneLabels, ...storesOf(orders).map((s): LabelPoint => ({ lng: s.lng, lat: s.lat, text: s.storeId, kind: 'store' }))],
        [
          ...couriers.map((c): LabelPoint => ({ lng: c.lng, lat: c.lat, text: c.courierId, kind: 'courier' })),
          ...orders.map((o): LabelPoint => ({ lng: o.dropoff.lng, lat: o.dropoff.lat, text: o.externalId, kind: 'dropoff' })),
        ],
      );
      phase('labels');
    }
    details.refresh();
    charts.tick(state.at);
    phase('detail');
  }

  /** Zone labels (always shown, like stores): name · who serves it, at the zone's middle. */
  let zoneLabels: LabelPoint[] = [];
  let zonesShown: string | null = null;
  let zonesLoading = false;
  /** Reloads GET /v1/zones when the state's zonesVersion differs from the one drawn (once at start, then on every change). */
  function syncZones(version: string): void {
    if (version === zonesShown || zonesLoading || !feeder) return;
    zonesLoading = true;
    api<{ zones: ZoneView[] }>('GET', '/v1/zones', token)
      .then(({ zones }) => {
        zonesShown = version;
        handle.zones = zones;
        feeder?.zones(zones);
        zoneLabels = zones.map((z): LabelPoint => {
          const [lng, lat] = zoneLabelAt(z);
          return { lng, lat, text: `${z.settings.name} · ${zoneServedBy(z)}`, kind: 'zone', className: `zone-${z.settings.active ? z.settings.fleet : 'inactive'}` };
        });
        if (handle.state) render(handle.state);
      })
      .catch(() => undefined) // the next frame tries again
      .finally(() => (zonesLoading = false));
  }

  function count(shown: number, all: number, truncated: boolean): string {
    return shown === all ? `${fmt.number(all)}${truncated ? '+' : ''}` : t('common.shownOf', { shown: fmt.number(shown), all: fmt.number(all) });
  }

  let alertsKey = '';
  function renderAlerts(state: ConsoleState): void {
    const alerts = alertsOf(state, handle.config.waitingAlertMs);
    handle.alerts = alerts;
    byId('alerts-badge').textContent = fmt.number(alerts.length);
    byId('alerts-badge').dataset.count = String(alerts.length);
    byId('alerts-count').textContent = fmt.number(alerts.length);
    const shown = alerts.slice(0, MAX_ALERTS).map((a) => [a, alertText(a)] as const);
    const key = shown.map(([a, text]) => a.kind + text).join('\n');
    if (key === alertsKey) return;
    alertsKey = key;
    byId('alerts-list').replaceChildren(
      ...shown.map(([a, text]) => {
        const li = el('li', text, `alert alert-${a.kind}`);
        li.dataset.kind = a.kind;
        li.dataset.orderId = a.orderId ?? '';
        li.dataset.courierId = a.courierId ?? '';
        li.onclick = () => (a.orderId ? select({ orderId: a.orderId }) : a.courierId ? select({ courierId: a.courierId }) : undefined);
        return li;
      }),
    );
  }

  function select(sel: Partial<ConsoleHandle['selected']>): void {
    if (sel.orderId) {
      handle.selected = { orderId: sel.orderId, courierId: '' };
      void details.openOrder(sel.orderId);
    } else if (sel.courierId) {
      handle.selected = { orderId: '', courierId: sel.courierId };
      void details.openCourier(sel.courierId);
    }
    if (handle.state) render(handle.state);
  }

  function renderKpis(state: ConsoleState): void {
    const k = state.kpis;
    const min = (x: number | null) => (x === null ? '–' : fmt.minutes(x * 60_000));
    byId('kpi-ontime').textContent = k.onTimePct === null ? '–' : fmt.percent(k.onTimePct);
    byId('kpi-ctd').textContent = k.clickToDoorP50Min === null ? '–' : `${min(k.clickToDoorP50Min)} / ${min(k.clickToDoorP90Min)}`;
    byId('kpi-waiting').textContent = k.oldestWaitingMin === null ? fmt.number(k.waiting) : t('kpi.waitingValue', { n: fmt.number(k.waiting), oldest: min(k.oldestWaitingMin) });
    byId('kpi-couriers').textContent = fmt.number(k.activeCouriers);
    byId('kpi-cost').textContent = k.costPerOrder === null ? '–' : fmt.money(k.costPerOrder);
    byId('kpi-delivered').textContent = t('kpi.deliveredValue', { n: fmt.number(k.delivered), hours: fmt.number(Math.round(k.windowMs / 3_600_000)) });
    renderFleets(k.byFleet ?? []);
  }

  /** One row per fleet (own first, then each carrier): delivered, on time, click-to-door, cost per order per currency. */
  function renderFleets(fleets: FleetKpis[]): void {
    const ms = (x: number | null) => (x === null ? '–' : fmt.minutes(x));
    const rows = fleets.map((f) => {
      const tr = el('tr');
      tr.dataset.fleet = f.fleet;
      const cells = [
        f.fleet === 'own' ? t('kpi.fleetOwn') : f.fleet,
        fmt.number(f.delivered),
        f.onTimePct === null ? '–' : fmt.percent(f.onTimePct),
        f.ctdP50Ms === null ? '–' : `${ms(f.ctdP50Ms)} / ${ms(f.ctdP90Ms)}`,
        f.cost.length ? f.cost.map((c) => fmt.moneyIn(c.perOrder, c.currency)).join(' · ') : '–',
      ];
      const names = ['fleet', 'delivered', 'ontime', 'ctd', 'cost'];
      cells.forEach((text, i) => {
        const td = el('td', text);
        td.dataset.col = names[i];
        tr.append(td);
      });
      return tr;
    });
    byId('kpi-fleets').querySelector('tbody')!.replaceChildren(...rows);
  }

  /** A popup naming what is under the pointer (courier, store, drop-off), from the current state. */
  function hover(m: maplibregl.Map): void {
    const tip = el('div', undefined, 'map-tip');
    tip.hidden = true;
    byId('map-wrap').append(tip);
    for (const layer of HOVER_LAYERS) {
      m.on('mousemove', layer, (e) => {
        const f = e.features?.[0];
        const id = f?.properties?.id;
        if (typeof id !== 'string' || !handle.state) return;
        m.getCanvas().style.cursor = 'pointer';
        tip.textContent = describe(layer, id, handle.state);
        tip.hidden = false;
        tip.style.transform = `translate(${Math.round(e.point.x + 12)}px, ${Math.round(e.point.y + 12)}px)`;
      });
      m.on('mouseleave', layer, () => {
        m.getCanvas().style.cursor = '';
        tip.hidden = true;
      });
    }
  }
}

function describe(layer: string, id: string, state: ConsoleState): string {
  if (layer === 'couriers') {
    const c = state.couriers.find((x) => x.courierId === id);
    return c ? t('hover.courier', { id, status: tMaybe(`status.${c.status}`), load: fmt.number(c.load), ago: fmt.duration(state.at - c.lastSeenAt) }) : id;
  }
  if (layer === 'stores') {
    const open = state.orders.filter((o) => o.storeId === id).length;
    return t('hover.store', { id, open: fmt.number(open) });
  }
  const o = state.orders.find((x) => x.id === id);
  return o ? t('hover.dropoff', { order: o.externalId, status: tMaybe(`order.${o.status}`), promised: fmt.time(o.promisedBy) }) : id;
}

byId<HTMLFormElement>('login-form').onsubmit = (e) => {
  e.preventDefault();
  const token = byId<HTMLTextAreaElement>('token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  location.reload();
};
onLocaleChange(() => {
  applyStatic();
  fillPickers();
  document.title = t('page.title');
});
byId<HTMLSelectElement>('lang').onchange = (e) => setLocale((e.target as HTMLSelectElement).value as Locale);

document.documentElement.lang = getLocale();
document.title = t('page.title');
applyStatic();
fillPickers();
const token = takeToken();
if (token) void start(token);
else showLogin();
