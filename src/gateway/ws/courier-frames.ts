/**
 * The courier socket protocol: frame schemas, the frames the server sends, and the frame-type → handler
 * map. Location frames are handled by courier.ts; other features (offers, accept/reject, status) register
 * their own frame types with `CourierFrameRouter.register` without touching the socket code.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyBaseLogger } from 'fastify';
import type { RejectReason } from '../../domain/location-filter.js';

/** Points buffered while offline may arrive in one frame; the frame size limit bounds it further. */
export const MAX_POINTS_PER_FRAME = 10_000;

/** Highest `speed` a point may carry (m/s, 3,600 km/h): anything above is a schema error. */
export const MAX_POINT_SPEED_MS = 1000;

const pointFields = {
  seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  ts: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  // Range is a plausibility check with its own reason (out_of_range), not a schema failure.
  lat: Type.Number(),
  lng: Type.Number(),
  acc: Type.Optional(Type.Number({ minimum: 0 })),
  // m/s; the cap keeps it a finite `real` in the history (README "Courier locations")
  speed: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_POINT_SPEED_MS })),
  heading: Type.Optional(Type.Number({ minimum: 0, maximum: 360 })),
};

export const PointSchema = Type.Object(pointFields);
export type PointFrame = Static<typeof PointSchema>;
export const LocFrameSchema = Type.Object({ type: Type.Literal('loc'), ...pointFields });
export const LocsFrameSchema = Type.Object({
  type: Type.Literal('locs'),
  points: Type.Array(Type.Unknown(), { maxItems: MAX_POINTS_PER_FRAME }),
});

/** Compiled once: checking a point is a handful of typeof/range tests on the hot path. */
export const pointCheck = TypeCompiler.Compile(PointSchema);
export const locsEnvelopeCheck = TypeCompiler.Compile(LocsFrameSchema);

export interface AckFrame {
  type: 'ack';
  /** Highest seq accepted from this frame, or null when none was. */
  seq: number | null;
  rejected: { seq: number | null; reason: RejectReason }[];
}

/**
 * The answer to a location frame shed while the node is overloaded: none of its points was stored (`seqs`
 * lists them, `seq` is the highest); the app keeps them and sends them again after `retryAfterMs`.
 */
export interface OverloadedFrame {
  type: 'overloaded';
  retryAfterMs: number;
  seq: number | null;
  seqs: (number | null)[];
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  /**
   * The type of the frame answered, when it had one that a handler took: answers to asynchronous
   * frames (offers, status, shift) may overtake the answer of the frame before them, so an error must
   * say what it answers; `offerId` / `orderId` of that frame come along when it had them.
   */
  frame?: string;
  offerId?: string;
  orderId?: string;
}

/** Stable codes of error frames (the socket stays open after each). */
export const FRAME_ERRORS = {
  badJson: 'bad_json',
  badFrame: 'bad_frame',
  unknownType: 'unknown_type',
  storeUnavailable: 'store_unavailable',
  internal: 'internal',
} as const;

/** What a frame handler may use: who is on the socket and how to answer. */
export interface CourierSocketContext {
  readonly courierId: string;
  readonly log: FastifyBaseLogger;
  send(frame: object): void;
}

export type CourierFrameHandler = (ctx: CourierSocketContext, frame: Record<string, unknown>) => void | Promise<void>;

export class FrameError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class CourierFrameRouter {
  private readonly handlers = new Map<string, CourierFrameHandler>();

  register(type: string, handler: CourierFrameHandler): void {
    if (this.handlers.has(type)) throw new Error(`courier frame type ${type} is already handled`);
    this.handlers.set(type, handler);
  }

  types(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Decodes one text frame and hands it to its handler. Every failure becomes an error frame: one
   * courier's bad input never closes the socket or reaches other couriers.
   */
  dispatch(ctx: CourierSocketContext, data: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return ctx.send(errorFrame(FRAME_ERRORS.badJson, 'Frame is not valid JSON'));
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
      return ctx.send(errorFrame(FRAME_ERRORS.badFrame, 'Frame must be a JSON object with a string "type"'));
    }
    const type = (frame as { type: string }).type;
    const handler = this.handlers.get(type);
    if (!handler) return ctx.send(errorFrame(FRAME_ERRORS.unknownType, `Unknown frame type ${JSON.stringify(type).slice(0, 64)}`));
    const f = frame as Record<string, unknown>;
    try {
      const pending = handler(ctx, f);
      if (pending) pending.catch((err: unknown) => this.fail(ctx, err, f));
    } catch (err) {
      this.fail(ctx, err, f);
    }
  }

  /** Built only on failure: the hot path (location frames) allocates nothing for it. */
  private fail(ctx: CourierSocketContext, err: unknown, frame: Record<string, unknown>): void {
    const answers = answered(frame);
    if (err instanceof FrameError) return ctx.send({ ...errorFrame(err.code, err.message), ...answers });
    ctx.log.error({ err, courierId: ctx.courierId }, 'courier frame handler failed');
    ctx.send({ ...errorFrame(FRAME_ERRORS.internal, 'Frame could not be processed'), ...answers });
  }
}

type Answered = Pick<ErrorFrame, 'frame' | 'offerId' | 'orderId'>;

/** What an error names of the frame it answers: its type and, when strings, its offerId / orderId. */
function answered(frame: Record<string, unknown>): Answered {
  const out: Answered = { frame: String(frame.type).slice(0, 64) };
  if (typeof frame.offerId === 'string') out.offerId = frame.offerId.slice(0, 64);
  if (typeof frame.orderId === 'string') out.orderId = frame.orderId.slice(0, 64);
  return out;
}

export function errorFrame(code: string, message: string): ErrorFrame {
  return { type: 'error', code, message };
}
