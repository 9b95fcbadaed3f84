/**
 * The courier and order tables: the first MAX_ROWS of the filtered lists. Rows are kept per id and only
 * the cells whose text changed are written, so a frame at city scale costs string compares, not DOM
 * building (the browser benchmark load/bench-console.ts measures it).
 */
import { el } from '../shared/format';
import { fmt, t, tMaybe } from '../shared/i18n';
import type { ConsoleCourier, ConsoleOrder } from './types';
import { waitingReason } from './view';

/** Rows listed (search and filters narrow the rest down): each one costs cell compares every frame. */
export const MAX_ROWS = 100;

/** One cell: its text and class (a `badge` class puts the text in a coloured pill). */
export interface Cell {
  text: string;
  cls?: string;
  badge?: string;
}

interface Row {
  tr: HTMLTableRowElement;
  tds: HTMLTableCellElement[];
  key: string[];
}

/** A table body whose rows are reused by id across frames. */
export class KeyedRows<T> {
  private rows = new Map<string, Row>();

  constructor(
    private readonly body: Element,
    private readonly idOf: (item: T) => string,
    private readonly describe: (item: T) => { cells: Cell[]; data: Record<string, string>; cls: string; title?: string },
    private readonly onClick: (id: string) => void,
  ) {}

  update(items: readonly T[]): void {
    const seen = new Set<string>();
    let at = 0;
    for (const item of items.slice(0, MAX_ROWS)) {
      const id = this.idOf(item);
      seen.add(id);
      const d = this.describe(item);
      let row = this.rows.get(id);
      if (!row) {
        const tr = el('tr');
        tr.onclick = () => this.onClick(id);
        row = { tr, tds: d.cells.map(() => tr.appendChild(el('td'))), key: [] };
        this.rows.set(id, row);
      }
      d.cells.forEach((c, i) => {
        const k = `${c.text}\u0000${c.cls ?? ''}\u0000${c.badge ?? ''}`;
        if (row!.key[i] === k) return;
        row!.key[i] = k;
        const td = row!.tds[i]!;
        td.className = c.cls ?? '';
        if (c.badge !== undefined) td.replaceChildren(el('span', c.text, c.badge));
        else td.textContent = c.text;
      });
      for (const [k, v] of Object.entries(d.data)) if (row.tr.dataset[k] !== v) row.tr.dataset[k] = v;
      if (row.tr.className !== d.cls) row.tr.className = d.cls;
      if (d.title !== undefined && row.tr.title !== d.title) row.tr.title = d.title;
      if (this.body.children[at] !== row.tr) this.body.insertBefore(row.tr, this.body.children[at] ?? null);
      at++;
    }
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      row.tr.remove();
      this.rows.delete(id);
    }
  }

  /** Forgets every row (after a language change every text differs anyway). */
  reset(): void {
    for (const row of this.rows.values()) row.tr.remove();
    this.rows.clear();
  }
}

export function courierRows(body: Element, now: () => number, selectedId: () => string, open: (id: string) => void): KeyedRows<ConsoleCourier> {
  return new KeyedRows<ConsoleCourier>(
    body,
    (c) => c.courierId,
    (c) => ({
      cells: [
        { text: c.courierId },
        { text: tMaybe(`status.${c.status}`), badge: `st st-${c.status}` },
        { text: fmt.number(c.load) },
        { text: t('couriers.ago', { span: fmt.duration(now() - c.lastSeenAt) }) },
      ],
      data: { courierId: c.courierId, status: c.status, lat: String(c.lat), lng: String(c.lng) },
      cls: c.courierId === selectedId() ? 'selected' : '',
    }),
    open,
  );
}

export function orderRows(body: Element, now: () => number, late: () => ReadonlySet<string>, selectedId: () => string, open: (id: string) => void): KeyedRows<ConsoleOrder> {
  return new KeyedRows<ConsoleOrder>(
    body,
    (o) => o.id,
    (o) => {
      const at = now();
      const etaLate = !!o.etaDropoffAt && o.etaDropoffAt > o.promisedBy;
      return {
        cells: [
          { text: o.externalId, cls: 'ext' },
          { text: tMaybe(`order.${o.status}`) },
          { text: fmt.duration(o.ageMs) },
          { text: fmt.time(o.promisedBy), cls: o.promisedBy < at ? 'late' : '' },
          { text: o.etaDropoffAt ? fmt.time(o.etaDropoffAt) : '–', cls: etaLate ? 'late eta' : 'eta' },
          { text: o.courierId ? (o.pinned ? t('orders.pinned', { courier: o.courierId }) : o.courierId) : '—', cls: 'courier' },
          { text: fmt.number(o.priority) },
          { text: waitingReason(o.dispatch, at) ?? '', cls: 'why' },
        ],
        data: { orderId: o.id, status: o.status, courierId: o.courierId ?? '' },
        cls: `${o.id === selectedId() ? 'selected' : ''}${late().has(o.id) ? ' at-risk' : ''}`.trim(),
        title: `${o.id} · ${o.storeId}`,
      };
    },
    open,
  );
}
