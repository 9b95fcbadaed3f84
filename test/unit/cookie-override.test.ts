/**
 * package.json overrides light-my-request's `cookie` (2.x declares Node ≥ 22 and is ESM-only, which
 * require() loads only from Node 20.19) with cookie 1.1.1 (CommonJS, Node ≥ 18, same
 * `stringifySetCookie({ name, value })` API). Fastify's inject is what uses it: cookies must still reach
 * the request.
 */
import fastify from 'fastify';
import t from 'tap';

t.test('inject with cookies works on the overridden cookie package', async (t) => {
  const app = fastify();
  app.get('/echo', async (req) => ({ cookie: req.headers.cookie }));
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/echo', cookies: { a: 'b c', session: 'x' } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { cookie: 'a=b%20c; session=x' });
});
