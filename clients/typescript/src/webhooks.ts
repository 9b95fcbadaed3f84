/**
 * Webhook signatures, as the service sends them: `X-Dispatchd-Signature: t=<ms>,v1=<hex>` where hex is
 * HMAC-SHA256(secret, "<t>.<raw body>"). Web Crypto, so it runs in Node ≥ 20 and in browsers/workers.
 */
export const SIGNATURE_HEADER = 'x-dispatchd-signature';

export interface VerifyOptions {
  /** Refuse signatures older than this (replays); default 5 minutes. 0 disables the check. */
  toleranceMs?: number;
  /** For tests. */
  now?: number;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** True when `header` signs `rawBody` with `secret` (constant-time compare) and is fresh enough. */
export async function verifyWebhookSignature(secret: string, header: string | null | undefined, rawBody: string, options: VerifyOptions = {}): Promise<boolean> {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const t = Number(m[1]);
  const tolerance = options.toleranceMs ?? 300_000;
  if (tolerance > 0 && Math.abs((options.now ?? Date.now()) - t) > tolerance) return false;
  const enc = new TextEncoder();
  const key = await globalThis.crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const expected = hex(await globalThis.crypto.subtle.sign('HMAC', key, enc.encode(`${m[1]}.${rawBody}`)));
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ m[2]!.charCodeAt(i);
  return diff === 0;
}
