/** What the pages need from the service's config (GET /console/config.json, src/gateway/http/web-pages.ts). */
export interface PageConfig {
  mapStyleUrl: string | null;
  tilesUrl: string | null;
  currency: string;
  waitingAlertMs: number;
  staleAfterMs: number;
}

export const DEFAULT_PAGE_CONFIG: PageConfig = { mapStyleUrl: null, tilesUrl: null, currency: 'USD', waitingAlertMs: 600_000, staleAfterMs: 60_000 };

/** The config, or the defaults (blank map, USD) when the service cannot say. */
export async function loadPageConfig(): Promise<PageConfig> {
  try {
    const res = await fetch('/console/config.json');
    if (!res.ok) return DEFAULT_PAGE_CONFIG;
    return { ...DEFAULT_PAGE_CONFIG, ...((await res.json()) as Partial<PageConfig>) };
  } catch {
    return DEFAULT_PAGE_CONFIG;
  }
}
