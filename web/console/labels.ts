/**
 * Text labels drawn as HTML over the map (no glyphs to fetch: works offline, any script). Only what is in
 * view is labelled, and only while that stays legible: couriers and drop-offs when at most MAX_LABELS of
 * them are in view (zoom in to see them in a dense city), stores always. A pool of nodes is reused, so a
 * frame with 5,000 couriers costs a bounds test per point and a few hundred style writes.
 */
import type maplibregl from 'maplibre-gl';

export const MAX_LABELS = 150;

export interface LabelPoint {
  lng: number;
  lat: number;
  text: string;
  kind: 'courier' | 'store' | 'dropoff' | 'zone';
  /** Extra class names (a zone's fleet). */
  className?: string;
}

export class MapLabels {
  private pool: HTMLDivElement[] = [];
  private points: { stores: LabelPoint[]; others: LabelPoint[] } = { stores: [], others: [] };

  constructor(
    private readonly map: maplibregl.Map,
    private readonly layer: HTMLElement,
  ) {
    map.on('move', () => this.draw());
  }

  set(stores: LabelPoint[], others: LabelPoint[]): void {
    this.points = { stores, others };
    this.draw();
  }

  /** How many labels are on screen now (the tests read it). */
  get shown(): number {
    return this.layer.childElementCount - this.pool.filter((n) => n.hidden).length;
  }

  private draw(): void {
    const b = this.map.getBounds();
    const [w, s, e, n] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    const inView = (p: LabelPoint) => p.lng >= w && p.lng <= e && p.lat >= s && p.lat <= n;
    const stores = this.points.stores.filter(inView).slice(0, MAX_LABELS);
    const others: LabelPoint[] = [];
    for (const p of this.points.others) {
      if (!inView(p)) continue;
      others.push(p);
      if (others.length > MAX_LABELS) break;
    }
    const shown = others.length > MAX_LABELS ? stores : [...stores, ...others];
    while (this.pool.length < shown.length) {
      const node = document.createElement('div');
      this.layer.append(node);
      this.pool.push(node);
    }
    shown.forEach((p, i) => {
      const node = this.pool[i]!;
      const at = this.map.project([p.lng, p.lat]);
      node.hidden = false;
      node.className = `map-label ml-${p.kind}${p.className ? ` ${p.className}` : ''}`;
      if (node.textContent !== p.text) node.textContent = p.text;
      node.style.transform = `translate(${Math.round(at.x)}px, ${Math.round(at.y)}px)`;
    });
    for (let i = shown.length; i < this.pool.length; i++) this.pool[i]!.hidden = true;
    this.layer.dataset.dense = String(others.length > MAX_LABELS);
  }
}
