/**
 * The committed typed client (clients/typescript: generated HTTP and frame types, the OpenAPI and
 * AsyncAPI documents it ships) matches what the service's contract generates now.
 */
import t from 'tap';
import { staleClientFiles } from '../../src/cli/client-generate.js';

t.test('the committed client is generated from the current contract', async (t) => {
  const stale = await staleClientFiles();
  t.same(stale, [], `stale generated client files: ${stale.join(', ')} — run \`npm run client:generate\` and commit them`);
});
