/**
 * Where webhooks may go. A store-supplied URL must not reach the service's own network (SSRF):
 * loopback, private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, unique-local,
 * multicast, reserved and unspecified addresses are refused unless WEBHOOK_ALLOW_PRIVATE is set
 * (tests and on-premise setups whose receivers live on a private network).
 *
 * The check runs when the URL is registered and again on every delivery, on the address actually
 * connected to (the lookup of the HTTP request itself is guarded), so a name that later resolves to
 * an internal address (DNS rebinding) is refused too. Classification is ipaddr.js' `range()`: only
 * `unicast` (globally routable) passes; IPv4-mapped IPv6 addresses are judged as the IPv4 inside.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export type WebhookTargetErrorCode = 'webhook_target_forbidden' | 'webhook_target_unresolvable' | 'validation_failed';

export class WebhookTargetError extends Error {
  constructor(
    readonly code: WebhookTargetErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

/** True for globally routable unicast addresses only. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

function hostOf(url: URL): string {
  // WHATWG URLs keep IPv6 literals in brackets
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function parse(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('validation_failed', 'url: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookTargetError('validation_failed', 'url: must be http or https');
  if (url.username || url.password) throw new WebhookTargetError('validation_failed', 'url: credentials in the URL are not allowed (use the secret)');
  return url;
}

function forbidden(host: string, address: string): WebhookTargetError {
  const shown = host === address ? address : `${host} (${address})`;
  return new WebhookTargetError('webhook_target_forbidden', `url: ${shown} is a private, loopback, link-local or otherwise internal address`);
}

/** Refuses a URL whose host is, or resolves to, an internal address (registration time). */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<void> {
  const url = parse(raw);
  if (allowPrivate) return;
  const host = hostOf(url);
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw forbidden(host, host);
    return;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, found) => (err ? reject(err) : resolve(found))),
  ).catch(() => {
    throw new WebhookTargetError('webhook_target_unresolvable', `url: ${host} does not resolve`);
  });
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) throw forbidden(host, bad.address);
}

/** A `lookup` for http(s).request that fails when any address of the name is internal. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (err, found) => {
    if (err) return callback(err, '', 4);
    const bad = found.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(forbidden(hostname, bad.address) as unknown as NodeJS.ErrnoException, '', 4);
    if ((options as LookupOptions).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, found);
    const first = found[0]!;
    callback(null, first.address, first.family);
  });
};

export interface PostOptions {
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
}

/**
 * POSTs `body` and returns the status (no redirects followed, the response body drained). Throws
 * WebhookTargetError for a forbidden target, other errors for network failures and timeouts.
 */
export async function postWebhook(raw: string, body: string, options: PostOptions): Promise<number> {
  const url = parse(raw);
  const host = hostOf(url);
  // literal addresses never go through `lookup`: check them here
  if (!options.allowPrivate && isIP(host) && !isPublicAddress(host)) throw forbidden(host, host);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.resume();
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
