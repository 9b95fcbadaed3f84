/**
 * Why the dispatcher decided what it decided (tag `dispatch`):
 *   GET /v1/orders/:id/dispatch   dispatcher, admin, the order's store (redacted)   → {orderId, decisions}
 *   GET /v1/orders/:id/assign-preview?courierId=   dispatcher, admin   → {chosen, optimizer, delta}
 * The decisions are the rounds' records (dispatch/decisions.ts), newest first: the latest from Redis
 * (written with the round) ahead of the Postgres history (written in batches, so it may lag a second).
 * The store sees no other courier's id (dispatch/decisions.ts `storeView`); another store's order is 404.
 * The preview prices the dispatcher's courier and the optimizer's pick with the optimizer's own model on
 * the live snapshot (runtime/assign-preview.ts).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { storeView, type DispatchDecision } from '../../dispatch/decisions.js';
import { decisionHistory, DECISIONS_PER_ORDER } from '../../store/pg/dispatch-decisions.js';
import { LatestDecisions } from '../../store/redis/dispatch-decisions.js';
import { AppError } from '../errors.js';
import { errorResponses } from './common-schemas.js';
import { previewAssign, PreviewError } from '../../runtime/assign-preview.js';
import { snapshotWiring } from '../../runtime/dispatch-loop.js';
import { AssignPreviewQuery, AssignPreviewSchema, DecisionHistorySchema } from './dispatch-schemas.js';
import { actorOf, rejectInvalid } from './orders.js';
import { OrderIdParams, typeboxValidator } from './orders-schemas.js';

/** Latest first, then the history without the round already shown. */
export function mergeDecisions(latest: DispatchDecision | null, history: readonly DispatchDecision[], limit: number): DispatchDecision[] {
  const out = latest && !history.some((d) => d.at === latest.at) ? [latest, ...history] : [...history];
  return out.sort((a, b) => b.at - a.at).slice(0, limit);
}

export const dispatchRoutes = fp(
  async function dispatchRoutes(app: FastifyInstance) {
    const latest = new LatestDecisions(app.redis);
    const { repo } = app.orders;
    const previewDeps = { ...snapshotWiring(app), clock: app.clock };

    app.get(
      '/v1/orders/:id/dispatch',
      {
        attachValidation: true,
        validatorCompiler: typeboxValidator,
        config: { roles: ['dispatcher', 'admin', 'store'] },
        schema: {
          summary: "The order's dispatch decisions, newest first: assigned (courier, ETAs, cost, runner-up) or waiting (reason, nearest courier)",
          tags: ['dispatch'],
          params: OrderIdParams,
          response: { 200: DecisionHistorySchema, ...errorResponses({ 400: ['validation_failed'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['order_not_found'] }) },
        },
      },
      async (request) => {
        rejectInvalid(request);
        const { id } = request.params as { id: string };
        const actor = actorOf(request);
        const order = await repo.get(id);
        if (!order || (actor.role === 'store' && order.storeId !== actor.id)) throw new AppError(404, 'order_not_found', 'order not found');
        const [last, history] = await Promise.all([latest.get(id), decisionHistory(app.db, id)]);
        const decisions = mergeDecisions(last, history, DECISIONS_PER_ORDER);
        return { orderId: id, decisions: actor.role === 'store' ? decisions.map((d) => storeView(d, order.courierId)) : decisions };
      },
    );

    app.get(
      '/v1/orders/:id/assign-preview',
      {
        attachValidation: true,
        validatorCompiler: typeboxValidator,
        config: { roles: ['dispatcher', 'admin'] },
        schema: {
          summary: "Before an override: the chosen courier's ETA and cost next to the optimizer's pick for the order, and the difference",
          tags: ['dispatch'],
          params: OrderIdParams,
          querystring: AssignPreviewQuery,
          response: {
            200: AssignPreviewSchema,
            ...errorResponses({
              400: ['validation_failed'],
              401: ['unauthorized'],
              403: ['forbidden'],
              404: ['order_not_found', 'courier_not_found'],
              409: ['order_not_assignable'],
            }),
          },
        },
      },
      async (request) => {
        rejectInvalid(request);
        const { id } = request.params as { id: string };
        const { courierId } = request.query as { courierId: string };
        try {
          return await previewAssign(previewDeps, id, courierId);
        } catch (err) {
          if (err instanceof PreviewError) throw new AppError(err.code === 'order_not_assignable' ? 409 : 404, err.code, err.message);
          throw err;
        }
      },
    );
  },
  { name: 'dispatchd-dispatch-routes', fastify: '5.x', dependencies: ['dispatchd-orders', 'dispatchd-auth', 'dispatchd-courier-socket', 'dispatchd-api-docs'] },
);
