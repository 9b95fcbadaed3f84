/**
 * WebSocket /v1/console (roles dispatcher and admin; any other role or no token: close 1008).
 *
 * out: `{type:'state', at, couriers, orders, cells, kpis, truncated, zonesVersion}` (runtime/console-state.ts) at once
 *      on connect and then about once per wall second, for as long as the socket is open; with
 *      `?delta=1`, the first frame is a full `state` and the next ones are `{type:'delta', …}` with only
 *      the couriers and orders that changed (runtime/console-delta.ts);
 *      `{type:'error', code:'state_unavailable', message}` when a state could not be built (the next
 *      tick tries again).
 * in:  nothing; overrides go through the HTTP routes. A frame is answered
 *      `{type:'error', code: bad_json|bad_frame|unknown_type, message, ref?}` (push-only.ts).
 * One state is built per tick and shared by every console socket on this node; nothing runs while no
 * console is connected. The push timer is wall time on purpose (a screen refresh rate); the state's
 * own time maths use the service clock.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { buildConsoleState, zonesVersion, type ConsoleState } from '../../runtime/console-state.js';
import { stateDelta } from '../../runtime/console-delta.js';
import { pushOnlyAnswer } from './push-only.js';
import { keepAlive } from './store.js';
import { serviceTravel } from '../../runtime/travel-times.js';

export const CONSOLE_PUSH_MS = 1000;

export const consoleSocket = fp(
  async function consoleSocket(app: FastifyInstance) {
    const log = app.log.child({ feature: 'console' });
    const sockets = new Set<WebSocket>();
    /** Sockets that asked for deltas → whether they already hold the previous state. */
    const deltaSockets = new Map<WebSocket, boolean>();
    /** The state every synced delta socket holds (the previous tick's). */
    let last: ConsoleState | null = null;
    let timer: NodeJS.Timeout | null = null;
    let building: Promise<void> | null = null;
    // the same travel model and service times as the optimizer, for the orders' ETAs
    const travel = serviceTravel(app);
    const service = { pickupS: app.config.pickupServiceS, dropoffS: app.config.dropoffServiceS };

    const broadcast = (text: string, to: Iterable<WebSocket>) => {
      for (const ws of to) if (ws.readyState === ws.OPEN) ws.send(text);
    };
    /** Builds one state and sends it to every console socket (a tick still building is not stacked). */
    const push = (): Promise<void> => {
      if (building) return building;
      building = buildConsoleState({
        redis: app.redis,
        db: app.db,
        index: app.locationIndex,
        clock: app.clock,
        staleAfterMs: app.config.staleAfterMs,
        travel,
        service,
        currency: app.config.currency,
        zonesVersion: () => zonesVersion(app.zones.index.zones.filter((z) => z.geometry !== null)),
      })
        .then((state) => {
          let full: string | null = null;
          const fullText = () => (full ??= JSON.stringify(state));
          const delta = last && [...deltaSockets.values()].some(Boolean) ? JSON.stringify(stateDelta(last, state)) : null;
          for (const ws of sockets) {
            if (ws.readyState !== ws.OPEN) continue;
            const synced = deltaSockets.get(ws);
            if (synced && delta) ws.send(delta);
            else {
              ws.send(fullText());
              if (synced === false) deltaSockets.set(ws, true);
            }
          }
          last = deltaSockets.size ? state : null;
        })
        .catch((err: unknown) => {
          log.error({ err }, 'console state failed');
          broadcast(JSON.stringify({ type: 'error', code: 'state_unavailable', message: 'Live state is unavailable, retrying' }), sockets);
        })
        .finally(() => {
          building = null;
        });
      return building;
    };
    const stopTimer = () => {
      if (timer) clearInterval(timer);
      timer = null;
    };

    app.get('/v1/console', { websocket: true, config: { roles: ['dispatcher', 'admin'] } }, (socket, request) => {
      // the console sends nothing over this socket: a frame gets an error frame naming why, the socket stays open
      socket.on('message', (data, isBinary) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(pushOnlyAnswer(data, isBinary, 'console')));
      });
      if ((request.query as { delta?: string }).delta === '1') deltaSockets.set(socket, false);
      socket.on('close', () => {
        sockets.delete(socket);
        deltaSockets.delete(socket);
        if (sockets.size === 0) stopTimer();
      });
      keepAlive(app, socket);
      sockets.add(socket);
      void push();
      if (!timer) {
        timer = setInterval(() => void push(), CONSOLE_PUSH_MS);
        timer.unref();
      }
    });

    app.addHook('onClose', async () => {
      stopTimer();
      await building;
    });
  },
  { name: 'dispatchd-console-socket', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth', 'dispatchd-websocket', 'dispatchd-courier-socket'] },
);
