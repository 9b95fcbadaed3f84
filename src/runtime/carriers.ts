/**
 * The third-party carriers this node talks to (CARRIERS): one HTTP adapter per configured carrier
 * (runtime/carrier-http.ts, the API of docs/carrier-api.md) with its cost margin. Zones name a carrier
 * in `carrier`; a zone naming one that is not configured here is served by the own fleet.
 */
import type { CarrierConfig } from '../config.js';
import type { CarrierAdapter } from '../domain/carrier.js';
import { HttpCarrierAdapter } from './carrier-http.js';

export interface CarrierEntry {
  readonly name: string;
  readonly adapter: CarrierAdapter;
  /** The carrier wins on cost only when own cost > quote × (1 + margin). */
  readonly margin: number;
}

export class CarrierRegistry {
  private readonly byName: ReadonlyMap<string, CarrierEntry>;

  constructor(entries: readonly CarrierEntry[]) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  static fromConfig(list: readonly CarrierConfig[], timeoutMs: number): CarrierRegistry {
    return new CarrierRegistry(
      list.map((c) => ({
        name: c.name,
        margin: c.margin,
        adapter: new HttpCarrierAdapter({ name: c.name, baseUrl: c.baseUrl, apiKey: c.apiKey, webhookSecret: c.webhookSecret, timeoutMs }),
      })),
    );
  }

  get(name: string): CarrierEntry | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}
