import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreachableDirFallback } from '../../src/store/embedded/index.js';
import type { Teardownable } from './context.js';

/**
 * A temporary DATA_DIR for private services, removed after the test. Readable by everyone (mkdtemp makes
 * it 0700) so that, as root, the postgres user can keep a private cluster in it; the /tmp fallback it
 * would otherwise use (PostgreSQL data, ~40 MB each) is removed as well, so root runs leave nothing behind.
 */
export async function tempDataDir(t: Teardownable, prefix = 'dispatchd-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  t.teardown(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(unreachableDirFallback(dir), { recursive: true, force: true });
  });
  return dir;
}
