/**
 * Mints a development token with the service's JWT secret (JWT_SECRET, or the dev secret that
 * `npm start` generated in DATA_DIR):
 *
 *   npm run token -- --role courier --sub c42 [--ttl 1h]
 *
 * Prints the token alone on stdout, so `TOKEN=$(npm run -s token -- --role admin --sub me)` works.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { isRole, jwtKeysOf, resolveJwtSecret, ROLES, signToken } from '../gateway/auth.js';

const usage = `usage: npm run token -- --role <${ROLES.join('|')}> --sub <subject> [--ttl 1h]`;

async function main(): Promise<number> {
  let values: { role?: string; sub?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '1h' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!isRole(values.role)) {
    console.error(`--role must be one of ${ROLES.join(', ')}\n${usage}`);
    return 2;
  }
  if (!values.sub) {
    console.error(`--sub is required\n${usage}`);
    return 2;
  }
  const ttl = /^\d+$/.test(values.ttl ?? '') ? Number(values.ttl) : values.ttl!;
  if (typeof ttl === 'string' && !/^\d+(\.\d+)?\s*(ms|s|m|h|d|w|y)$/.test(ttl)) {
    console.error(`--ttl must be seconds or a duration like 30m, 1h, 7d; got ${JSON.stringify(values.ttl)}`);
    return 2;
  }
  const config = loadConfig();
  if (!config.jwtSecret && !config.jwtKeys) console.error(`JWT_SECRET not set: signing with the development secret in ${config.dataDir}/jwt-secret`);
  const keys = jwtKeysOf({ ...config, jwtSecret: await resolveJwtSecret(config) });
  console.log(await signToken(keys, { sub: values.sub, role: values.role }, ttl));
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
