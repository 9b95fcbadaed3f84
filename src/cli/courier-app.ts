/**
 * A terminal courier app on the typed client (`@dispatchd/client`), the quickest way to feel the
 * courier protocol:
 *
 *   npm run courier -- --token <courier JWT> [--from LAT,LNG] [--url http://localhost:3000] [--speed 18] [--interval 1000]
 *
 * It streams a position every interval, riding toward the next stop of its task at --speed km/h,
 * prints offers and task changes, and reads commands (one per line):
 *   a            accept the current offer
 *   r [reason]   reject it (default reason "busy")
 *   n [pin]      report the next status of the current order (arrived_pickup → picked_up →
 *                arrived_dropoff → delivered; returned while returning); a PIN when the order needs one
 *   s            show position, offer and task
 *   q            quit
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { CourierSocket, FrameRefusedError, type CourierTask, type StatusReport } from '@dispatchd/client';

const usage = 'usage: npm run courier -- --token <courier JWT> [--from LAT,LNG] [--url http://localhost:3000] [--speed KMH] [--interval MS]';

interface LatLng {
  lat: number;
  lng: number;
}

/** Moves `from` toward `to` by at most `meters` (flat-earth step, fine at city scale). */
export function stepToward(from: LatLng, to: LatLng, meters: number): LatLng {
  const mPerDegLat = 111_320;
  const mPerDegLng = 111_320 * Math.cos((from.lat * Math.PI) / 180);
  const dy = (to.lat - from.lat) * mPerDegLat;
  const dx = (to.lng - from.lng) * mPerDegLng;
  const dist = Math.hypot(dx, dy);
  if (dist <= meters || dist === 0) return { ...to };
  const f = meters / dist;
  return { lat: from.lat + (dy * f) / mPerDegLat, lng: from.lng + (dx * f) / mPerDegLng };
}

type Order = CourierTask['orders'][number];

/** The status report that moves `order` on, or null when nothing is left for the courier to do. */
export function nextStatus(order: Order, pin?: string): StatusReport | null {
  switch (order.status) {
    case 'assigned':
      return { orderId: order.id, status: 'arrived_pickup' };
    case 'at_pickup':
      return { orderId: order.id, status: 'picked_up' };
    case 'picked_up':
      return { orderId: order.id, status: 'arrived_dropoff' };
    case 'at_dropoff':
      return { orderId: order.id, status: 'delivered', ...(pin ? { proof: { pin } } : {}) };
    case 'returning':
      return { orderId: order.id, status: 'returned' };
    default:
      return null;
  }
}

/** The order of the first stop not reached yet (else the first order still running). */
function currentOrder(task: CourierTask | null): Order | null {
  if (!task) return null;
  const stop = task.stops.find((s) => !s.arrived) ?? task.stops[0];
  const id = stop?.orderIds[0];
  return task.orders.find((o) => o.id === id) ?? task.orders.find((o) => nextStatus(o) !== null) ?? null;
}

function parseLatLng(raw: string): LatLng | null {
  const [lat, lng] = raw.split(',').map(Number);
  if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat!) > 90 || Math.abs(lng!) > 180) return null;
  return { lat: lat!, lng: lng! };
}

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);

async function main(): Promise<number> {
  let values: { token?: string; from?: string; url?: string; speed?: string; interval?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        token: { type: 'string' },
        from: { type: 'string', default: '52.52,13.405' },
        url: { type: 'string', default: 'http://localhost:3000' },
        speed: { type: 'string', default: '18' },
        interval: { type: 'string', default: '1000' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  let position = parseLatLng(values.from!);
  const speedKmh = Number(values.speed);
  const intervalMs = Number(values.interval);
  if (!values.token || !position || !(speedKmh > 0) || !(intervalMs >= 50)) {
    console.error(usage);
    return 2;
  }

  const courier = new CourierSocket(values.url!, values.token);
  console.log(`connecting to ${values.url} …`);
  courier.onOpen(() => console.log(`connected to ${values.url}`));
  courier.onClose((c) => console.log(`disconnected (${c.code}${c.reason ? ` ${c.reason}` : ''})${c.willReconnect ? ', reconnecting…' : ''}`));
  courier.on('offer', (o) => {
    const stops = o.stops.map((s) => `${s.kind} ${s.lat.toFixed(4)},${s.lng.toFixed(4)} eta ${time(s.eta)}`).join(' → ');
    console.log(`offer ${o.offerId}: ${o.orders.length} order(s), ${stops}; answer by ${time(o.expiresAt)} — a = accept, r = reject`);
  });
  courier.on('offer.expired', (f) => console.log(`offer ${f.offerId} expired`));
  courier.on('offer.withdrawn', (f) => console.log(`offer ${f.offerId} withdrawn`));
  courier.on('task', (task) => {
    const order = currentOrder(task);
    console.log(task.orders.length ? `task: ${task.orders.map((o) => `${o.externalId} ${o.status}`).join(', ')}${order ? ` — current ${order.externalId}` : ''}` : 'task: none, waiting for offers');
  });
  courier.on('task.changed', (f) => console.log(`order ${f.orderId} changed: ${f.status} (${f.event}${f.reason ? `: ${f.reason}` : ''})`));
  courier.on('error', (e) => console.log(`error ${e.code}: ${e.message}`));

  try {
    await courier.connect();
  } catch (err) {
    console.error(`could not connect: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }

  // ride toward the next stop and report the position
  const stepM = (speedKmh / 3.6) * (intervalMs / 1000);
  const ride = setInterval(() => {
    const stop = courier.task?.stops.find((s) => !s.arrived);
    if (stop) position = stepToward(position!, stop.place, stepM);
    courier.sendLocation({ lat: position!.lat, lng: position!.lng, acc: 5, speed: stop ? speedKmh / 3.6 : 0 });
  }, intervalMs);
  courier.sendLocation({ lat: position.lat, lng: position.lng, acc: 5 });

  const answer = async (what: string, p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      console.log(`${what} refused: ${err instanceof FrameRefusedError ? err.message : String(err)}`);
    }
  };
  const commands = createInterface({ input: process.stdin });
  console.log('commands: a accept · r [reason] reject · n [pin] next status · s show · q quit');
  await new Promise<void>((resolve) => {
    commands.on('close', resolve);
    commands.on('line', (line) => {
      const [cmd, ...rest] = line.trim().split(/\s+/);
      const offer = courier.offer;
      switch (cmd) {
        case 'a':
          if (!offer) return console.log('no open offer');
          return void answer('accept', courier.accept(offer.offerId).then(() => console.log(`accepted ${offer.offerId}`)));
        case 'r':
          if (!offer) return console.log('no open offer');
          return void answer('reject', courier.reject(offer.offerId, rest.join(' ') || 'busy').then(() => console.log(`rejected ${offer.offerId}`)));
        case 'n': {
          const order = currentOrder(courier.task);
          const report = order && nextStatus(order, rest[0]);
          if (!report) return console.log('nothing to report');
          return void answer(report.status, courier.reportStatus(report).then((ack) => console.log(`${report.status}: ${order!.externalId} (now ${ack.status}, version ${ack.version})`)));
        }
        case 's':
          return console.log(
            `at ${position!.lat.toFixed(5)},${position!.lng.toFixed(5)} · unacked points ${courier.pendingPoints} · offer ${offer?.offerId ?? 'none'} · orders ${courier.task?.orders.map((o) => `${o.externalId}:${o.status}`).join(', ') || 'none'}`,
          );
        case 'q':
          return commands.close();
        case undefined:
        case '':
          return;
        default:
          console.log(`unknown command ${cmd}: a · r [reason] · n [pin] · s · q`);
      }
    });
  });
  clearInterval(ride);
  courier.close();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
