/** Bodies of the dispatcher override routes (checked by the order API's TypeBox validator). */
import { Type } from '@sinclair/typebox';
import { MAX_PRIORITY, MIN_PRIORITY } from '../../domain/order.js';

/** The order version the dispatcher saw; when given, any change since refuses the override (409 version_conflict). */
const Version = Type.Optional(Type.Integer({ minimum: 1, description: 'expected order version (optimistic check)' }));

export const AssignBodySchema = Type.Object(
  { courierId: Type.String({ minLength: 1, maxLength: 200 }), version: Version },
  { additionalProperties: false },
);
export const UnassignBodySchema = Type.Object({ version: Version }, { additionalProperties: false });
export const PriorityBodySchema = Type.Object(
  { priority: Type.Integer({ minimum: MIN_PRIORITY, maximum: MAX_PRIORITY }), version: Version },
  { additionalProperties: false },
);
