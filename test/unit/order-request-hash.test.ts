import t from 'tap';
import { requestHash } from '../../src/runtime/order-lifecycle.js';

const body = {
  externalId: 'x1',
  pickup: { lat: 52.5, lng: 13.4, address: 'A' },
  dropoff: { lat: 52.6, lng: 13.5 },
  items: 2,
  option: 'express' as const,
};

t.test('idempotency hash: same content, any key order → same hash; any change → different', async (t) => {
  const reordered = { option: 'express' as const, items: 2, dropoff: { lng: 13.5, lat: 52.6 }, pickup: { address: 'A', lng: 13.4, lat: 52.5 }, externalId: 'x1' };
  t.equal(requestHash(reordered), requestHash(body));
  t.equal(requestHash({ ...body, size: undefined }), requestHash(body), 'an explicit undefined is the same as absent');
  t.not(requestHash({ ...body, items: 3 }), requestHash(body));
  t.not(requestHash({ ...body, pickup: { ...body.pickup, address: 'B' } }), requestHash(body));
  t.not(requestHash({ ...body, size: 1 }), requestHash(body), 'a default spelled out is a different request');
});
