/**
 * npm run carrier:sim -- [--port 9090] [--name simcarrier] [--api-key KEY] [--webhook-secret SECRET]
 *   [--currency EUR] [--price-base 4] [--price-per-km 1.2] [--speed 5] [--failure-rate 0.05]
 *   [--position-every-ms 5000] [--clock-speed 1] [--seed 1] [--state-file PATH]
 *
 * With --state-file the deliveries and their unsent webhooks survive a restart on the same file (the
 * simulator clock resumes where it stopped).
 *
 * A third-party carrier speaking docs/carrier-api.md over HTTP (src/sim/carrier/simulator.ts). Prints
 * `carrier simulator listening on http://HOST:PORT` when ready; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { acceleratedClock, systemClock } from '../clock.js';
import { seededRandom } from '../domain/random.js';
import { CarrierSimulator, loadCarrierSimState } from '../sim/carrier/simulator.js';

const { values: a } = parseArgs({
  options: {
    port: { type: 'string', default: '9090' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string', default: 'simcarrier' },
    'api-key': { type: 'string', default: 'sim-api-key' },
    'webhook-secret': { type: 'string', default: 'sim-webhook-secret-0123456789' },
    currency: { type: 'string', default: 'EUR' },
    'price-base': { type: 'string', default: '4' },
    'price-per-km': { type: 'string', default: '1.2' },
    speed: { type: 'string', default: '5' },
    'failure-rate': { type: 'string', default: '0.05' },
    'position-every-ms': { type: 'string', default: '5000' },
    'clock-speed': { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    'state-file': { type: 'string' },
  },
});

const num = (key: keyof typeof a, min: number, max = Infinity): number => {
  const v = Number(a[key]);
  if (!Number.isFinite(v) || v < min || v > max) {
    process.stderr.write(`--${key} must be a number between ${min} and ${max}, got ${JSON.stringify(a[key])}\n`);
    process.exit(2);
  }
  return v;
};

const speed = num('clock-speed', 0.001);
const stateFile = a['state-file'];
const resumed = stateFile ? loadCarrierSimState(stateFile) : null;
const sim = new CarrierSimulator({
  clock: resumed ? acceleratedClock(resumed.now, speed) : speed === 1 ? systemClock : acceleratedClock(Date.now(), speed),
  ...(stateFile ? { stateFile } : {}),
  name: a.name!,
  apiKey: a['api-key']!,
  webhookSecret: a['webhook-secret']!,
  currency: a.currency!,
  priceBase: num('price-base', 0),
  pricePerKm: num('price-per-km', 0),
  speedMps: num('speed', 0.1),
  failureRate: num('failure-rate', 0, 1),
  positionEveryMs: num('position-every-ms', 10),
  random: seededRandom(num('seed', 0)),
});
const url = await sim.listen(num('port', 0, 65535), a.host);
console.log(`carrier simulator listening on ${url}`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
