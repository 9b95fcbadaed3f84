import t from 'tap';
import { unavailableDependency } from '../../src/gateway/dependency-errors.js';
import { toErrorResponse } from '../../src/gateway/errors.js';

const withCode = (message: string, props: Record<string, unknown>) => Object.assign(new Error(message), props);

t.test('outages of PostgreSQL and Redis are told from bugs', async (t) => {
  t.equal(unavailableDependency(withCode('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })), 'postgres');
  t.equal(unavailableDependency(new Error('timeout exceeded when trying to connect')), 'postgres');
  t.equal(unavailableDependency(new Error('Connection terminated unexpectedly')), 'postgres');
  t.equal(unavailableDependency(withCode('terminating connection due to administrator command', { code: '57P01', severity: 'FATAL' })), 'postgres');
  t.equal(unavailableDependency(withCode('Reached the max retries per request limit (which is 3).', { name: 'MaxRetriesPerRequestError' })), 'redis');
  t.equal(unavailableDependency(new Error('Connection is closed.')), 'redis');
  t.equal(unavailableDependency(new Error('wrapped', { cause: new Error('Connection is closed.') })), 'redis', 'through the cause chain');
  t.equal(unavailableDependency(withCode('duplicate key', { code: '23505', severity: 'ERROR' })), null, 'a constraint is not an outage');
  t.equal(unavailableDependency(new TypeError("Cannot read properties of undefined (reading 'x')")), null);
});

t.test('an outage becomes 503 dependency_unavailable with Retry-After; a bug stays 500 internal', async (t) => {
  t.match(toErrorResponse(new Error('Connection is closed.')), { status: 503, body: { code: 'dependency_unavailable', details: { dependency: 'redis' } }, retryAfterS: 2 });
  t.match(toErrorResponse(new Error('boom')), { status: 500, body: { code: 'internal' } });
});
