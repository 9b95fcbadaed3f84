/** Reads a Prometheus text exposition into `name{label="v",…}` → value (labels in the order printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The value of one series, or undefined when the exposition lacks it. */
export function sample(metrics: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  if (entries.length === 0) return metrics.get(name);
  for (const [key, value] of metrics) {
    const m = /^([^{]+)\{(.*)\}$/.exec(key);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (entries.every(([k, v]) => got[k] === v)) return value;
  }
  return undefined;
}
