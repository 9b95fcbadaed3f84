/**
 * KPIs over the day as small uPlot time-series charts, from GET /v1/kpis (15-minute buckets of the
 * service clock since the start of its day): on-time %, click-to-door p50/p90 (minutes) and orders
 * placed vs delivered per bucket. Refreshed once a minute; a service without the endpoint says so.
 */
import uPlot from 'uplot';
import { api, ApiError } from '../shared/api';
import { byId } from '../shared/format';
import { fmt, t } from '../shared/i18n';

export const KPI_BUCKET_MS = 900_000;
const REFRESH_MS = 60_000;

export interface KpiBucket {
  start: number;
  placed: number;
  delivered: number;
  onTime: number;
  late: number;
  onTimePct: number | null;
  ctdP50Ms: number | null;
  ctdP90Ms: number | null;
}

export class KpiCharts {
  private plots: uPlot[] = [];
  private data: KpiBucket[] = [];
  private lastFetch = 0;
  private busy = false;
  /** Why the last fetch failed (shown in the current language), or null. */
  private failure: string | null = null;

  constructor(private readonly token: string) {}

  /** Fetches again when the last fetch is older than a minute (wall time). */
  tick(serviceNow: number): void {
    if (this.busy || Date.now() - this.lastFetch < REFRESH_MS) return;
    this.busy = true;
    this.lastFetch = Date.now();
    const from = new Date(serviceNow).setHours(0, 0, 0, 0);
    api<{ buckets: KpiBucket[] }>('GET', `/v1/kpis?from=${from}&to=${serviceNow}&bucket=${KPI_BUCKET_MS}`, this.token)
      .then((res) => {
        this.data = res.buckets;
        this.failure = null;
        this.draw();
      })
      .catch((err: unknown) => {
        this.failure = err instanceof ApiError ? err.code : String(err);
        this.draw();
      })
      .finally(() => {
        this.busy = false;
      });
  }

  /** Redraws (after new data or a language change: the series names are translated). */
  draw(): void {
    byId('charts-note').textContent = this.failure === null ? '' : t('charts.unavailable', { code: this.failure });
    for (const p of this.plots) p.destroy();
    this.plots = [];
    if (!this.data.length) return;
    const xs = this.data.map((b) => b.start / 1000);
    const min = (ms: number | null) => (ms === null ? null : ms / 60_000);
    const width = Math.max(240, Math.floor((byId('charts').clientWidth - 32) / 3));
    const opts = (series: uPlot.Series[]): uPlot.Options => ({
      width,
      height: 150,
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [{ values: (_u, splits) => splits.map((s) => fmt.time(s * 1000)) }, { values: (_u, splits) => splits.map((s) => fmt.number(s)) }],
      series: [{ label: t('charts.time'), value: (_u, v) => (v === null ? '–' : fmt.time(v * 1000)) }, ...series],
    });
    const chart = (id: string, series: uPlot.Series[], ys: (number | null)[][]) => {
      const target = byId(id);
      target.replaceChildren();
      this.plots.push(new uPlot(opts(series), [xs, ...ys] as uPlot.AlignedData, target));
    };
    chart('chart-ontime', [{ label: t('charts.onTimeSeries'), stroke: '#2da44e', width: 2 }], [this.data.map((b) => b.onTimePct)]);
    chart('chart-ctd', [{ label: t('charts.p50'), stroke: '#1f6feb', width: 2 }, { label: t('charts.p90'), stroke: '#cf222e', width: 2 }], [this.data.map((b) => min(b.ctdP50Ms)), this.data.map((b) => min(b.ctdP90Ms))]);
    chart('chart-volume', [{ label: t('charts.placed'), stroke: '#8250df', width: 2 }, { label: t('charts.delivered'), stroke: '#2da44e', width: 2 }], [this.data.map((b) => b.placed), this.data.map((b) => b.delivered)]);
  }
}
