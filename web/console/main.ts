/**
 * The dispatcher console: live state over WS /v1/console (map, KPIs, lists) and the override actions
 * over HTTP. The token comes from `?token=` (then removed from the address bar) or the login form, and
 * is kept in sessionStorage for this tab only.
 */
import type maplibregl from 'maplibre-gl';
import { api, ApiError, socketUrl } from '../shared/api';
import { byId, clockTime, duration, el, jwtPayload } from '../shared/format';
import { openLiveSocket } from '../shared/live-socket';
import { createMap, fitTo, whenLoaded, type LngLat } from '../shared/map';
import { addLayers, updateLayers } from './map-layers';
import type { ConsoleState } from './types';

const TOKEN_KEY = 'dispatchd.console.token';
const MAX_ROWS = 500;
/** Berlin until the first state says where the action is. */
const DEFAULT_CENTER: LngLat = [13.405, 52.52];

interface ConsoleHandle {
  state: ConsoleState | null;
  frames: number;
  map: maplibregl.Map | null;
  selected: { orderId: string; courierId: string };
}
declare global {
  interface Window {
    /** For debugging and the browser tests. */
    dispatchdConsole: ConsoleHandle;
  }
}

const handle: ConsoleHandle = { state: null, frames: 0, map: null, selected: { orderId: '', courierId: '' } };
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

function start(token: string): void {
  const claims = jwtPayload(token);
  if (!claims) return showLogin('That is not a token (expected a JWT).');
  if (claims.role !== 'dispatcher' && claims.role !== 'admin') {
    return showLogin(`This token has role "${String(claims.role)}": the console needs a dispatcher or admin token.`);
  }
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('who').textContent = `${String(claims.sub)} (${String(claims.role)})`;

  const map = createMap(byId('map'), DEFAULT_CENTER, 12);
  handle.map = map;
  let layersReady = false;
  let fitted = false;
  if (map) {
    whenLoaded(map, () => {
      addLayers(map);
      layersReady = true;
      if (handle.state) render(handle.state);
    });
    map.on('click', 'couriers', (e) => {
      const id = e.features?.[0]?.properties?.id;
      if (typeof id === 'string') select({ courierId: id });
    });
    map.on('click', 'orders', (e) => {
      const id = e.features?.[0]?.properties?.id;
      if (typeof id === 'string') select({ orderId: id });
    });
  }

  const conn = byId('conn');
  const socket = openLiveSocket(() => socketUrl('/v1/console', token), {
    onStatus(status) {
      conn.dataset.status = status;
      conn.textContent = status;
    },
    onRefused(reason) {
      sessionStorage.removeItem(TOKEN_KEY);
      socket.close();
      showLogin(`The service refused the token (${reason}). Paste a valid dispatcher token.`);
    },
    onFrame(frame) {
      if (frame.type === 'state') {
        handle.frames++;
        render(frame as unknown as ConsoleState);
      } else if (frame.type === 'error') {
        conn.dataset.status = 'reconnecting';
        conn.textContent = String(frame.message ?? 'state unavailable');
      }
    },
  });

  byId('logout').onclick = () => {
    socket.close();
    sessionStorage.removeItem(TOKEN_KEY);
    location.replace('/console');
  };

  function render(state: ConsoleState): void {
    handle.state = state;
    byId('clock').textContent = `service time ${clockTime(state.at, true)}`;
    renderKpis(state);
    renderCouriers(state);
    renderOrders(state);
    renderSelects(state);
    if (map && layersReady) {
      updateLayers(map, state, handle.selected);
      if (!fitted) {
        const pts: LngLat[] = [
          ...state.couriers.map((c): LngLat => [c.lng, c.lat]),
          ...state.orders.flatMap((o): LngLat[] => [[o.pickup.lng, o.pickup.lat], [o.dropoff.lng, o.dropoff.lat]]),
        ];
        if (pts.length) {
          fitTo(map, pts);
          fitted = true;
        }
      }
    }
  }

  function select(sel: Partial<ConsoleHandle['selected']>): void {
    Object.assign(handle.selected, sel);
    if (sel.orderId !== undefined) (byId<HTMLSelectElement>('sel-order')).value = sel.orderId;
    if (sel.courierId !== undefined) (byId<HTMLSelectElement>('sel-courier')).value = sel.courierId;
    if (handle.state) render(handle.state);
  }
  byId<HTMLSelectElement>('sel-order').onchange = (e) => select({ orderId: (e.target as HTMLSelectElement).value });
  byId<HTMLSelectElement>('sel-courier').onchange = (e) => select({ courierId: (e.target as HTMLSelectElement).value });

  const result = byId('action-result');
  const act = async (label: string, call: () => Promise<unknown>, needs: ('order' | 'courier')[]) => {
    const { orderId, courierId } = handle.selected;
    if (needs.includes('order') && !orderId) return report(false, 'Choose an order first.');
    if (needs.includes('courier') && !courierId) return report(false, 'Choose a courier first.');
    result.textContent = `${label}…`;
    result.className = 'muted';
    delete result.dataset.outcome;
    try {
      await call();
      report(true, `${label}: done.`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
      report(false, `${label} refused: ${e.code} — ${e.message}`);
    }
  };
  const report = (ok: boolean, text: string) => {
    result.textContent = text;
    result.className = ok ? 'ok' : 'error';
    result.dataset.outcome = ok ? 'ok' : 'error';
  };
  const order = () => encodeURIComponent(handle.selected.orderId);
  const courier = () => encodeURIComponent(handle.selected.courierId);
  byId('act-assign').onclick = () =>
    act('Assign & pin', () => api('POST', `/v1/orders/${order()}/assign`, token, { courierId: handle.selected.courierId }), ['order', 'courier']);
  byId('act-unassign').onclick = () => act('Unassign', () => api('POST', `/v1/orders/${order()}/unassign`, token, {}), ['order']);
  byId('act-priority').onclick = () => {
    const priority = Number(byId<HTMLInputElement>('priority').value);
    return act('Set priority', () => api('POST', `/v1/orders/${order()}/priority`, token, { priority }), ['order']);
  };
  byId('act-pause').onclick = () => act('Pause courier', () => api('POST', `/v1/couriers/${courier()}/pause`, token, {}), ['courier']);
  byId('act-resume').onclick = () => act('Resume courier', () => api('POST', `/v1/couriers/${courier()}/resume`, token, {}), ['courier']);

  function renderKpis(state: ConsoleState): void {
    const k = state.kpis;
    const min = (x: number | null) => (x === null ? '–' : `${x} min`);
    byId('kpi-ontime').textContent = k.onTimePct === null ? '–' : `${k.onTimePct} %`;
    byId('kpi-ctd').textContent = k.clickToDoorP50Min === null ? '–' : `${min(k.clickToDoorP50Min)} / ${min(k.clickToDoorP90Min)}`;
    byId('kpi-waiting').textContent = `${k.waiting}${k.oldestWaitingMin === null ? '' : ` (${min(k.oldestWaitingMin)})`}`;
    byId('kpi-couriers').textContent = String(k.activeCouriers);
    byId('kpi-cost').textContent = k.costPerOrder === null ? '–' : `$${k.costPerOrder.toFixed(2)}`;
    byId('kpi-delivered').textContent = `${k.delivered} in ${Math.round(k.windowMs / 3_600_000)} h`;
  }

  function renderCouriers(state: ConsoleState): void {
    const body = document.querySelector('#couriers tbody')!;
    const rows = state.couriers.slice(0, MAX_ROWS).map((c) => {
      const tr = el('tr');
      tr.dataset.courierId = c.courierId;
      tr.dataset.status = c.status;
      tr.dataset.lat = String(c.lat);
      tr.dataset.lng = String(c.lng);
      if (c.courierId === handle.selected.courierId) tr.classList.add('selected');
      const status = el('td');
      status.append(el('span', c.status, `st st-${c.status}`));
      tr.append(el('td', c.courierId), status, el('td', String(c.load)), el('td', `${duration(state.at - c.lastSeenAt)} ago`));
      tr.onclick = () => select({ courierId: c.courierId });
      return tr;
    });
    body.replaceChildren(...rows);
    byId('couriers-count').textContent = `${state.couriers.length}${state.truncated.couriers ? '+' : ''}`;
  }

  function renderOrders(state: ConsoleState): void {
    const body = document.querySelector('#orders tbody')!;
    const rows = state.orders.slice(0, MAX_ROWS).map((o) => {
      const tr = el('tr');
      tr.dataset.orderId = o.id;
      tr.dataset.status = o.status;
      tr.dataset.courierId = o.courierId ?? '';
      if (o.id === handle.selected.orderId) tr.classList.add('selected');
      const promised = el('td', clockTime(o.promisedBy), o.promisedBy < state.at ? 'late' : undefined);
      const courierCell = el('td', o.courierId ? `${o.courierId}${o.pinned ? ' (pinned)' : ''}` : '—', 'courier');
      tr.append(el('td', o.externalId, 'ext'), el('td', o.status.replace('_', ' ')), el('td', duration(o.ageMs)), promised, courierCell, el('td', String(o.priority)));
      tr.title = `${o.id} · store ${o.storeId}`;
      tr.onclick = () => select({ orderId: o.id });
      return tr;
    });
    body.replaceChildren(...rows);
    byId('orders-count').textContent = `${state.orders.length}${state.truncated.orders ? '+' : ''}`;
  }

  /** Refills the pickers when the set of ids changes, keeping the current choice. */
  function renderSelects(state: ConsoleState): void {
    fill(byId<HTMLSelectElement>('sel-order'), state.orders.map((o) => [o.id, `${o.externalId} · ${o.status}`]), handle.selected.orderId, '— choose an order —');
    fill(byId<HTMLSelectElement>('sel-courier'), state.couriers.map((c) => [c.courierId, `${c.courierId} · ${c.status}`]), handle.selected.courierId, '— choose a courier —');
  }
}

function fill(select: HTMLSelectElement, options: [string, string][], value: string, placeholder: string): void {
  const key = options.map(([v, l]) => `${v}\u0000${l}`).join('\u0001');
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    const keep = options.some(([v]) => v === value) || value === '' ? [] : [[value, `${value} (gone)`] as [string, string]];
    select.replaceChildren(
      el('option', placeholder),
      ...[...options, ...keep].map(([v, label]) => {
        const o = el('option', label);
        o.value = v;
        return o;
      }),
    );
    (select.firstElementChild as HTMLOptionElement).value = '';
  }
  select.value = value;
}

byId<HTMLFormElement>('login-form').onsubmit = (e) => {
  e.preventDefault();
  const token = byId<HTMLTextAreaElement>('token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  location.reload();
};

const token = takeToken();
if (token) start(token);
else showLogin();
