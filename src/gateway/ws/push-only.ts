import type { RawData } from 'ws';
import { errorFrame, FRAME_ERRORS, type ErrorFrame } from './courier-frames.js';

/**
 * The answer of a push-only socket (tracking, console) to a frame a client sent it: these sockets take
 * no input, so every frame gets an error frame — `bad_json` (not JSON text), `bad_frame` (not an object
 * with a string `type`) or `unknown_type` (well-formed, but nothing is accepted here), with the frame's
 * `ref` when it had one — and the socket stays open. Same codes as the courier and store sockets.
 */
export function pushOnlyAnswer(data: RawData, isBinary: boolean, socketName: string): ErrorFrame & { ref?: string } {
  let frame: unknown;
  try {
    frame = isBinary ? undefined : JSON.parse(data.toString());
  } catch {
    frame = undefined;
  }
  if (frame === undefined) return errorFrame(FRAME_ERRORS.badJson, 'Frame is not valid JSON');
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
    return errorFrame(FRAME_ERRORS.badFrame, 'Frame must be a JSON object with a string "type"');
  }
  const { type, ref } = frame as { type: string; ref?: unknown };
  const answer = errorFrame(FRAME_ERRORS.unknownType, `The ${socketName} socket accepts no frames (got ${JSON.stringify(type).slice(0, 64)})`);
  return typeof ref === 'string' ? { ...answer, ref: ref.slice(0, 100) } : answer;
}
