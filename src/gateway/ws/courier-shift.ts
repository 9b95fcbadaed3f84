/**
 * The courier's shift on its socket (/v1/courier):
 * in:  `{type:'shift', endsAt: <epoch ms>, capacity?: <int ≥ 1>}`: the courier takes no pickup after
 *      endsAt (MDRP rule; it may still drop off later) and carries at most `capacity` units at once.
 * out: `{type:'shift.ack', endsAt, capacity}` (capacity as the dispatch loop will use it: the given one,
 *      else COURIER_CAPACITY). Without a shift frame a courier has no shift end.
 */
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import { firstFrameError } from '../http/orders-schemas.js';
import { FrameError } from './courier-frames.js';

export const ShiftFrameSchema = Type.Object(
  {
    type: Type.Literal('shift'),
    endsAt: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
const shiftCheck = TypeCompiler.Compile(ShiftFrameSchema);

export const courierShiftFrames = fp(
  async function courierShiftFrames(app: FastifyInstance) {
    const availability = app.couriersAvailability;
    app.courierFrames.register('shift', async (ctx, frame) => {
      if (!shiftCheck.Check(frame)) throw new FrameError('bad_frame', `shift: ${firstFrameError(shiftCheck.Errors(frame)).message}`);
      const { endsAt, capacity } = frame;
      await availability.setShift(ctx.courierId, capacity === undefined ? { endsAt } : { endsAt, capacity });
      ctx.send({ type: 'shift.ack', endsAt, capacity: capacity ?? availability.defaultCapacity });
    });
  },
  { name: 'dispatchd-courier-shift', fastify: '5.x', dependencies: ['dispatchd-courier-socket', 'dispatchd-courier-availability'] },
);
