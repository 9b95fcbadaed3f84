/**
 * The detail panel (one at a time): an order — addresses, items, option, promise, live ETA and predicted
 * lateness, courier, pin and priority, why it waits, the tracking link, the event timeline and the
 * dispatch decision history; actions assign & pin (after comparing the chosen courier with the
 * optimizer's choice), unassign, priority, cancel — or a courier — status, load, shift end, last seen,
 * planned stops with ETAs (drawn as a route), the last 30 minutes of trail; pause/resume.
 */
import { api, ApiError } from '../shared/api';
import { byId, el } from '../shared/format';
import { fmt, t, tMaybe } from '../shared/i18n';
import type { LngLat } from '../shared/map';
import { COURIER_STATUSES, type AssignPreview, type ConsoleState, type CourierDetail, type DispatchDecision, type OrderDetail, type OrderEvent } from './types';
import { isWaiting, nearestCouriers, waitingReason } from './view';

export const TRAIL_MS = 30 * 60_000;

export interface DetailHost {
  token: string;
  state(): ConsoleState | null;
  /** Draws (or clears, with empty lists) the opened courier's route and trail. */
  drawCourier(route: LngLat[], stops: { lng: number; lat: number; kind: string; orderId: string }[], trail: LngLat[]): void;
  openOrder(id: string): void;
  openCourier(id: string): void;
  closed(): void;
}

type Opened = { kind: 'order'; id: string; detail: OrderDetail | null; key: string } | { kind: 'courier'; id: string; detail: CourierDetail | null; key: string };

const dl = (rows: [string, string | Node][]) => {
  const list = el('dl');
  for (const [k, v] of rows) {
    const dd = el('dd');
    dd.append(v);
    list.append(el('dt', k), dd);
  }
  return list;
};

function link(text: string, onClick: () => void): HTMLAnchorElement {
  const a = el('a', text);
  a.href = '#';
  a.onclick = (e) => {
    e.preventDefault();
    onClick();
  };
  return a;
}

export class DetailPanel {
  private opened: Opened | null = null;
  private readonly section = byId('detail');
  private readonly title = byId('detail-title');
  private readonly body = byId('detail-body');
  /** Parts refreshed from every state frame without asking the service. */
  private live: HTMLElement | null = null;

  constructor(private readonly host: DetailHost) {
    byId('detail-close').onclick = () => this.close();
  }

  get current(): { kind: 'order' | 'courier'; id: string } | null {
    return this.opened ? { kind: this.opened.kind, id: this.opened.id } : null;
  }

  close(): void {
    this.opened = null;
    this.section.hidden = true;
    this.host.drawCourier([], [], []);
    this.host.closed();
  }

  async openOrder(id: string): Promise<void> {
    this.opened = { kind: 'order', id, detail: null, key: this.orderKey(id) };
    this.host.drawCourier([], [], []);
    this.section.hidden = false;
    this.section.dataset.kind = 'order';
    this.section.dataset.id = id;
    this.title.textContent = t('detail.order', { id });
    this.body.replaceChildren(el('p', t('detail.loading'), 'muted'));
    const tk = this.host.token;
    const enc = encodeURIComponent(id);
    const [detail, events, decisions] = await Promise.all([
      api<OrderDetail>('GET', `/v1/orders/${enc}`, tk).catch((e: unknown) => e as Error),
      api<{ events: OrderEvent[] }>('GET', `/v1/orders/${enc}/events`, tk).catch((e: unknown) => e as Error),
      api<{ decisions: DispatchDecision[] }>('GET', `/v1/orders/${enc}/dispatch`, tk).catch((e: unknown) => e as Error),
    ]);
    if (this.opened?.kind !== 'order' || this.opened.id !== id) return;
    if (detail instanceof Error) {
      this.body.replaceChildren(el('p', t('detail.failed', { why: detail.message }), 'error'));
      return;
    }
    this.opened.detail = detail;
    this.title.textContent = t('detail.order', { id: detail.externalId });
    this.body.replaceChildren(
      this.orderFacts(detail),
      this.orderActions(detail),
      el('h3', t('detail.timeline')),
      events instanceof Error ? el('p', t('detail.failed', { why: events.message }), 'muted') : this.timeline(events.events),
      el('h3', t('detail.decisions')),
      decisions instanceof Error ? el('p', decisions instanceof ApiError && decisions.status === 404 ? t('detail.noDecisionsApi') : t('detail.failed', { why: decisions.message }), 'muted') : this.decisions(decisions.decisions),
    );
    this.refresh();
  }

  async openCourier(id: string): Promise<void> {
    this.opened = { kind: 'courier', id, detail: null, key: this.courierKey(id) };
    this.section.hidden = false;
    this.section.dataset.kind = 'courier';
    this.section.dataset.id = id;
    this.title.textContent = t('detail.courierTitle', { id });
    this.body.replaceChildren(el('p', t('detail.loading'), 'muted'));
    const enc = encodeURIComponent(id);
    const now = this.host.state()?.at ?? Date.now();
    const [detail, trail] = await Promise.all([
      api<CourierDetail>('GET', `/v1/couriers/${enc}`, this.host.token).catch((e: unknown) => e as Error),
      api<{ geometry: { coordinates: LngLat[] } }>('GET', `/v1/couriers/${enc}/trail?from=${now - TRAIL_MS}&to=${now}`, this.host.token).catch(() => null),
    ]);
    if (this.opened?.kind !== 'courier' || this.opened.id !== id) return;
    if (detail instanceof Error) {
      this.body.replaceChildren(el('p', t('detail.failed', { why: detail.message }), 'error'));
      return;
    }
    this.opened.detail = detail;
    const stops = this.plannedStops(id, detail);
    const trailCoords = trail?.geometry.coordinates ?? [];
    this.host.drawCourier([[detail.lng, detail.lat], ...stops.map((s): LngLat => [s.lng, s.lat])], stops, trailCoords);
    const list = el('ol', undefined, 'stops');
    for (const s of stops) {
      const li = el('li');
      li.dataset.orderId = s.orderId;
      li.append(el('span', tMaybe(`stop.${s.kind}`)), ' ', link(this.externalId(s.orderId), () => this.host.openOrder(s.orderId)), ' ', el('span', s.eta ? t('detail.etaAt', { time: fmt.time(s.eta) }) : '', 'muted'));
      list.append(li);
    }
    const state = this.host.state();
    const fromState = state?.couriers.find((c) => c.courierId === id);
    // the live state speaks the one vocabulary; older services' detail route says `idle` for its location status
    const status = detail.paused ? 'paused' : (fromState?.status ?? (COURIER_STATUSES.includes(detail.status as never) ? detail.status! : detail.stale ? 'offline' : 'free'));
    this.live = el('div');
    this.body.replaceChildren(
      dl([
        [t('detail.status'), el('span', tMaybe(`status.${status}`), `st st-${status}`)],
        [t('detail.load'), fmt.number(detail.load ?? fromState?.load ?? 0)],
        [t('detail.shiftEnds'), detail.shiftEndsAt ? fmt.time(detail.shiftEndsAt) : '–'],
        [t('detail.lastSeen'), t('couriers.ago', { span: fmt.duration(now - (detail.lastSeenAt ?? detail.serverTs)) })],
        [t('detail.trail'), t('detail.trailPoints', { n: trailCoords.length })],
      ]),
      el('h3', t('detail.stops')),
      stops.length ? list : el('p', t('detail.noStops'), 'muted'),
      this.courierActions(id, status),
    );
  }

  /** Called with every state frame: keeps the live facts current and reloads when the order or courier changed. */
  refresh(): void {
    const o = this.opened;
    if (!o) return;
    if (o.kind === 'order') {
      const key = this.orderKey(o.id);
      if (key !== o.key) {
        o.key = key;
        void this.openOrder(o.id);
        return;
      }
      if (this.live) this.live.replaceChildren(...this.liveOrderFacts(o.id));
    } else {
      const key = this.courierKey(o.id);
      if (key !== o.key) {
        o.key = key;
        void this.openCourier(o.id);
      }
    }
  }

  private orderKey(id: string): string {
    const o = this.host.state()?.orders.find((x) => x.id === id);
    return o ? `${o.status}|${o.courierId ?? ''}|${String(o.pinned)}|${o.priority}|${o.dispatch?.at ?? ''}` : 'gone';
  }

  private courierKey(id: string): string {
    const c = this.host.state()?.couriers.find((x) => x.courierId === id);
    const held = this.host.state()?.orders.filter((o) => o.courierId === id).map((o) => `${o.id}:${o.status}`).join() ?? '';
    return c ? `${c.status}|${c.load}|${held}` : 'gone';
  }

  private externalId(orderId: string): string {
    return this.host.state()?.orders.find((o) => o.id === orderId)?.externalId ?? orderId;
  }

  /** The courier's stops from the service when it lists them, else from the orders it holds (pickups first, like its task). */
  private plannedStops(id: string, d: CourierDetail): { orderId: string; kind: 'pickup' | 'dropoff'; lat: number; lng: number; eta: number | null }[] {
    if (d.stops?.length) return d.stops;
    const held = (this.host.state()?.orders ?? []).filter((o) => o.courierId === id && !isWaiting(o));
    const pickups = held.filter((o) => o.status === 'assigned' || o.status === 'at_pickup').map((o) => ({ orderId: o.id, kind: 'pickup' as const, ...o.pickup, eta: null }));
    const drops = held.map((o) => ({ orderId: o.id, kind: 'dropoff' as const, ...o.dropoff, eta: o.etaDropoffAt ?? null }));
    return [...pickups, ...drops];
  }

  private liveOrderFacts(id: string): Node[] {
    const state = this.host.state();
    const o = state?.orders.find((x) => x.id === id);
    if (!state || !o) return [el('p', t('detail.notLive'), 'muted')];
    const lateBy = o.etaDropoffAt ? o.etaDropoffAt - o.promisedBy : state.at - o.promisedBy;
    const eta = o.etaDropoffAt ? fmt.time(o.etaDropoffAt) : '–';
    const lateness = lateBy > 0 ? el('span', t('detail.lateBy', { by: fmt.minutes(lateBy) }), 'late') : el('span', o.etaDropoffAt ? t('detail.onTimeBy', { by: fmt.minutes(-lateBy) }) : '', 'ok');
    const rows: [string, string | Node][] = [
      [t('detail.status'), tMaybe(`order.${o.status}`)],
      [t('detail.eta'), eta],
      [t('detail.prediction'), lateness],
    ];
    const why = waitingReason(o.dispatch, state.at);
    if (why) rows.push([t('detail.why'), el('span', why, 'why')]);
    return [dl(rows)];
  }

  private orderFacts(d: OrderDetail): Node {
    const wrap = el('div');
    this.live = el('div', undefined, 'live');
    const courier = d.courierId ? link(d.courierId, () => this.host.openCourier(d.courierId!)) : '—';
    const option = d.option === 'scheduled' && d.window ? t('detail.window', { option: tMaybe(`option.${d.option}`), from: fmt.time(d.window.from), to: fmt.time(d.window.to) }) : tMaybe(`option.${d.option}`);
    const track = el('span');
    track.append(
      link(t('detail.trackingLink'), async () => {
        try {
          const res = await api<{ pageUrl: string }>('POST', `/v1/orders/${encodeURIComponent(d.id)}/tracking-link`, this.host.token, {});
          const a = el('a', t('detail.trackingOpen'));
          a.href = res.pageUrl;
          a.target = '_blank';
          a.rel = 'noopener';
          a.id = 'tracking-url';
          track.replaceChildren(a);
        } catch (err) {
          track.replaceChildren(el('span', t('detail.failed', { why: err instanceof Error ? err.message : String(err) }), 'error'));
        }
      }),
    );
    wrap.append(
      this.live,
      dl([
        [t('detail.store'), d.storeId],
        [t('detail.pickup'), d.pickup.address ?? `${d.pickup.lat.toFixed(5)}, ${d.pickup.lng.toFixed(5)}`],
        [t('detail.dropoff'), d.dropoff.address ?? `${d.dropoff.lat.toFixed(5)}, ${d.dropoff.lng.toFixed(5)}`],
        [t('detail.items'), fmt.number(d.items)],
        [t('detail.option'), option],
        [t('detail.placed'), fmt.time(d.placedAt)],
        [t('detail.promised'), fmt.time(d.promisedBy)],
        [t('detail.courier'), courier],
        [t('detail.pinned'), d.pinned ? t('common.yes') : t('common.no')],
        [t('detail.priority'), fmt.number(d.priority)],
        [t('detail.tracking'), track],
      ]),
    );
    return wrap;
  }

  /** The last action's outcome, shown again when the panel is rebuilt (an action usually changes what it shows). */
  private lastResult: { id: string; text: string; outcome: string } | null = null;

  private resultNode(): HTMLElement {
    const out = el('p');
    out.id = 'action-result';
    out.setAttribute('role', 'status');
    const last = this.lastResult;
    if (last && last.id === this.opened?.id) {
      out.textContent = last.text;
      out.className = last.outcome;
      out.dataset.outcome = last.outcome === 'ok' ? 'ok' : 'error';
    }
    return out;
  }

  private result(): HTMLElement {
    return byId('action-result');
  }

  private async act(label: string, call: () => Promise<unknown>): Promise<boolean> {
    const out = this.result();
    this.lastResult = null;
    out.textContent = t('action.running', { action: label });
    out.className = 'muted';
    delete out.dataset.outcome;
    try {
      await call();
      out.textContent = t('action.done', { action: label });
      out.className = 'ok';
      out.dataset.outcome = 'ok';
      this.lastResult = { id: this.opened?.id ?? '', text: out.textContent, outcome: 'ok' };
      return true;
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
      out.textContent = t('action.refused', { action: label, code: e.code, message: e.message });
      out.className = 'error';
      out.dataset.outcome = 'error';
      this.lastResult = { id: this.opened?.id ?? '', text: out.textContent, outcome: 'error' };
      return false;
    }
  }

  private orderActions(d: OrderDetail): Node {
    const tk = this.host.token;
    const enc = encodeURIComponent(d.id);
    const box = el('section', undefined, 'actions');
    box.append(el('h3', t('action.title')));

    // assign & pin: pick a courier (the nearest ones are suggested), compare, then confirm
    const input = el('input');
    input.id = 'assign-courier';
    input.setAttribute('list', 'assign-suggestions');
    input.placeholder = t('action.courierId');
    const suggestions = el('datalist');
    suggestions.id = 'assign-suggestions';
    const state = this.host.state();
    for (const c of state ? nearestCouriers(state.couriers, d.pickup.lat, d.pickup.lng, 12) : []) {
      const opt = el('option');
      opt.value = c.courierId;
      opt.label = `${c.courierId} · ${tMaybe(`status.${c.status}`)}`;
      suggestions.append(opt);
    }
    const compare = el('div', undefined, 'compare');
    compare.id = 'assign-compare';
    const previewBtn = el('button', t('action.compare'));
    previewBtn.type = 'button';
    previewBtn.id = 'act-preview';
    previewBtn.onclick = async () => {
      const courierId = input.value.trim();
      if (!courierId) return void this.act(t('action.assign'), () => Promise.reject(new ApiError(0, 'courier_required', t('action.chooseCourier'))));
      compare.replaceChildren(el('p', t('detail.loading'), 'muted'));
      let preview: AssignPreview | null = null;
      let why = '';
      try {
        preview = await api<AssignPreview>('GET', `/v1/orders/${enc}/assign-preview?courierId=${encodeURIComponent(courierId)}`, tk);
      } catch (err) {
        why = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
      }
      const confirm = el('button', t('action.confirmAssign', { courier: courierId }), 'primary');
      confirm.type = 'button';
      confirm.id = 'act-assign';
      confirm.onclick = () => void this.act(t('action.assign'), () => api('POST', `/v1/orders/${enc}/assign`, tk, { courierId }));
      compare.replaceChildren(preview ? this.comparison(preview) : el('p', t('action.noPreview', { why }), 'muted'), confirm);
    };
    const row1 = el('div', undefined, 'row');
    row1.append(input, suggestions, previewBtn);

    const unassign = el('button', t('action.unassign'));
    unassign.type = 'button';
    unassign.id = 'act-unassign';
    unassign.onclick = () => void this.act(t('action.unassign'), () => api('POST', `/v1/orders/${enc}/unassign`, tk, {}));
    const prio = el('input');
    prio.type = 'number';
    prio.min = '0';
    prio.max = '10';
    prio.value = String(d.priority);
    prio.id = 'priority';
    prio.setAttribute('aria-label', t('detail.priority'));
    const setPrio = el('button', t('action.priority'));
    setPrio.type = 'button';
    setPrio.id = 'act-priority';
    setPrio.onclick = () => void this.act(t('action.priority'), () => api('POST', `/v1/orders/${enc}/priority`, tk, { priority: Number(prio.value) }));
    const cancel = el('button', t('action.cancel'), 'danger');
    cancel.type = 'button';
    cancel.id = 'act-cancel';
    cancel.onclick = () => {
      const sure = el('button', t('action.confirmCancel'), 'danger');
      sure.type = 'button';
      sure.id = 'act-cancel-confirm';
      sure.onclick = () => void this.act(t('action.cancel'), () => api('POST', `/v1/orders/${enc}/cancel`, tk, { reason: 'dispatcher' }));
      cancel.replaceWith(sure);
    };
    const row2 = el('div', undefined, 'row');
    row2.append(unassign, prio, setPrio, cancel);
    box.append(row1, compare, row2, this.resultNode());
    return box;
  }

  private comparison(p: AssignPreview): Node {
    const table = el('table', undefined, 'comparison');
    const head = el('tr');
    head.append(el('th', ''), el('th', t('compare.chosen', { courier: p.chosen.courierId })), el('th', p.optimizer ? t('compare.optimizer', { courier: p.optimizer.courierId ?? '—' }) : t('compare.noOptimizer')));
    const row = (label: string, a: string, b: string) => {
      const tr = el('tr');
      tr.append(el('th', label), el('td', a), el('td', b));
      return tr;
    };
    const time = (ms: number | undefined) => (ms ? fmt.time(ms) : '–');
    const cost = (c: number | undefined) => (c === undefined ? '–' : fmt.number(c));
    table.append(
      head,
      row(t('compare.pickup'), time(p.chosen.etaPickupAt), time(p.optimizer?.etaPickupAt)),
      row(t('compare.dropoff'), time(p.chosen.etaDropoffAt), time(p.optimizer?.etaDropoffAt)),
      row(t('compare.cost'), cost(p.chosen.cost), cost(p.optimizer?.cost)),
    );
    const wrap = el('div');
    wrap.append(table);
    if (p.delta) {
      const later = p.delta.etaDropoffMs;
      wrap.append(
        el('p', t('compare.delta', { eta: later >= 0 ? t('compare.later', { by: fmt.minutes(later) }) : t('compare.earlier', { by: fmt.minutes(-later) }), cost: fmt.number(p.delta.cost) }), later > 0 || p.delta.cost > 0 ? 'late' : 'ok'),
      );
    }
    return wrap;
  }

  private timeline(events: OrderEvent[]): Node {
    const list = el('ol', undefined, 'timeline');
    list.id = 'timeline';
    for (const e of events) {
      const li = el('li');
      li.dataset.type = e.type;
      const data = (e.data ?? {}) as Record<string, unknown>;
      const actor = e.actor as { role?: string; id?: string } | undefined;
      const extra = [data.courierId, data.reason, data.priority].filter((x) => x !== undefined && x !== null).map(String).join(' · ');
      li.append(el('time', fmt.timeSec(e.at)), ' ', el('strong', tMaybe(`event.${e.type}`)), extra ? ` ${extra}` : '', actor?.id ? el('span', ` — ${actor.id}`, 'muted') : '');
      list.append(li);
    }
    return list;
  }

  private decisions(decisions: DispatchDecision[]): Node {
    if (!decisions.length) return el('p', t('detail.noDecisions'), 'muted');
    const list = el('ol', undefined, 'decisions');
    list.id = 'decisions';
    for (const d of decisions) {
      const li = el('li');
      li.dataset.decision = d.decision;
      const parts: (string | Node)[] = [el('time', fmt.timeSec(d.at)), ' '];
      if (d.decision === 'assigned') {
        parts.push(el('strong', t('decision.assigned', { courier: d.courierId ?? '—' })));
        if (d.etaDropoffAt) parts.push(' ', t('decision.eta', { time: fmt.time(d.etaDropoffAt) }));
        if (d.cost) parts.push(' ', t('decision.cost', { cost: fmt.number(d.cost.total) }));
        if (d.runnerUp) parts.push(el('div', t('decision.runnerUp', { courier: d.runnerUp.courierId ?? '—', delta: fmt.number(d.runnerUp.costDelta) }), 'muted'));
      } else if (d.decision === 'reassigned' && d.reassigned) {
        const saved = fmt.number(Math.round(d.reassigned.savedS / 6) / 10);
        parts.push(el('strong', t('decision.reassigned', { from: d.reassigned.fromCourierId ?? '—', courier: d.courierId ?? '—', saved })));
      } else {
        parts.push(el('strong', t('decision.waiting')), ' ', waitingReason(d, d.at) ?? '');
      }
      if (d.ready?.source === 'learned') {
        const spread = fmt.number(Math.round((d.ready.spreadS ?? 0) / 6) / 10);
        parts.push(el('div', t('decision.readyLearned', { time: fmt.time(d.ready.at), spread, samples: String(d.ready.samples ?? 0) }), 'muted ready-learned'));
      } else if (d.ready?.source === 'store') parts.push(el('div', t('decision.readyStore', { time: fmt.time(d.ready.at) }), 'muted'));
      li.append(...parts);
      list.append(li);
    }
    return list;
  }

  private courierActions(id: string, status: string): Node {
    const enc = encodeURIComponent(id);
    const box = el('section', undefined, 'actions');
    const pause = el('button', status === 'paused' ? t('action.resume') : t('action.pause'));
    pause.type = 'button';
    pause.id = status === 'paused' ? 'act-resume' : 'act-pause';
    pause.onclick = () => void this.act(pause.textContent ?? '', () => api('POST', `/v1/couriers/${enc}/${status === 'paused' ? 'resume' : 'pause'}`, this.host.token, {}));
    box.append(pause, this.resultNode());
    return box;
  }
}
