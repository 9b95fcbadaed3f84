export function buildAsyncApi(): Record<string, unknown> { return {}; }
