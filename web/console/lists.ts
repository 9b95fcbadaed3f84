/** The courier and order tables: the first MAX_ROWS of the filtered lists, rows rebuilt per frame. */
import { el } from '../shared/format';
import { fmt, t, tMaybe } from '../shared/i18n';
import type { ConsoleCourier, ConsoleOrder } from './types';
import { waitingReason } from './view';

export const MAX_ROWS = 200;

export function renderCourierRows(body: Element, couriers: readonly ConsoleCourier[], now: number, selectedId: string, open: (id: string) => void): void {
  const rows = couriers.slice(0, MAX_ROWS).map((c) => {
    const tr = el('tr');
    tr.dataset.courierId = c.courierId;
    tr.dataset.status = c.status;
    tr.dataset.lat = String(c.lat);
    tr.dataset.lng = String(c.lng);
    if (c.courierId === selectedId) tr.classList.add('selected');
    const status = el('td');
    status.append(el('span', tMaybe(`status.${c.status}`), `st st-${c.status}`));
    tr.append(el('td', c.courierId), status, el('td', fmt.number(c.load)), el('td', t('couriers.ago', { span: fmt.duration(now - c.lastSeenAt) })));
    tr.onclick = () => open(c.courierId);
    return tr;
  });
  body.replaceChildren(...rows);
}

export function renderOrderRows(body: Element, orders: readonly ConsoleOrder[], now: number, late: ReadonlySet<string>, selectedId: string, open: (id: string) => void): void {
  const rows = orders.slice(0, MAX_ROWS).map((o) => {
    const tr = el('tr');
    tr.dataset.orderId = o.id;
    tr.dataset.status = o.status;
    tr.dataset.courierId = o.courierId ?? '';
    if (o.id === selectedId) tr.classList.add('selected');
    if (late.has(o.id)) tr.classList.add('at-risk');
    const promised = el('td', fmt.time(o.promisedBy), o.promisedBy < now ? 'late' : undefined);
    const eta = el('td', o.etaDropoffAt ? fmt.time(o.etaDropoffAt) : '–', o.etaDropoffAt && o.etaDropoffAt > o.promisedBy ? 'late eta' : 'eta');
    const courierCell = el('td', o.courierId ? (o.pinned ? t('orders.pinned', { courier: o.courierId }) : o.courierId) : '—', 'courier');
    const why = waitingReason(o.dispatch, now);
    tr.append(el('td', o.externalId, 'ext'), el('td', tMaybe(`order.${o.status}`)), el('td', fmt.duration(o.ageMs)), promised, eta, courierCell, el('td', fmt.number(o.priority)), el('td', why ?? '', 'why'));
    tr.title = `${o.id} · ${o.storeId}`;
    tr.onclick = () => open(o.id);
    return tr;
  });
  body.replaceChildren(...rows);
}
