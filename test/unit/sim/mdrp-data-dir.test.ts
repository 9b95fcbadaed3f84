/**
 * The MDRP instances are not in the repository: the commands that need them stop with one message that
 * says where to get them (the public Grubhub repository) instead of one error per missing file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultMdrpDir, MDRP_REPOSITORY, MdrpDataMissingError, requireInstanceDir, requireInstancesRoot } from '../../../src/sim/mdrp/data-dir.js';
import { repoRoot, tinyDir } from './support/fixtures.js';

const fixtures = join(repoRoot, 'test/fixtures/mdrp');

t.test('an instance folder with its four files passes; anything else is one clear error', async (t) => {
  t.doesNotThrow(() => requireInstanceDir(tinyDir));
  const empty = mkdtempSync(join(tmpdir(), 'mdrp-missing-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  writeFileSync(join(empty, 'orders.txt'), 'order\tx\ty\n');
  for (const [dir, problem] of [
    ['/nonexistent/mdrp/0o50t100s1p100', /No MDRP instance folder at/],
    [empty, /restaurants\.txt, couriers\.txt, instance_parameters\.txt missing/],
  ] as const) {
    const err = t.throws(() => requireInstanceDir(dir)) as Error;
    t.ok(err instanceof MdrpDataMissingError);
    t.match(err.message, problem);
    t.match(err.message, MDRP_REPOSITORY, 'says where to get them');
    t.match(err.message, /public_instances/);
  }
});

t.test('an instances root lists its instance folders and names the requested ones that are missing', async (t) => {
  t.same(requireInstancesRoot(fixtures, ['tiny']).includes('tiny'), true);
  t.throws(() => requireInstancesRoot(fixtures, ['tiny', '0o50t100s1p100', '1o50t100s1p100']), {
    message: /2 of the requested instances are not under .*: 0o50t100s1p100, 1o50t100s1p100/,
  });
  t.throws(() => requireInstancesRoot('/nonexistent/mdrp'), { code: 'MDRP_DATA_MISSING' });
  t.equal(defaultMdrpDir({ MDRP_DATA: '/x/y' }), '/x/y');
  t.equal(defaultMdrpDir({}), join(repoRoot, 'data/mdrp'), 'a folder a clone can have (git-ignored)');
});

t.test('npm run mdrp:frontier without the data: exit 1 and one message, not one error per file', async (t) => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/mdrp-frontier.ts'], {
    cwd: repoRoot,
    env: { ...process.env, MDRP_DATA: '/nonexistent/mdrp' },
    encoding: 'utf8',
  });
  t.equal(res.status, 1);
  const out = res.stdout + res.stderr;
  t.match(out, /MDRP_DATA_MISSING/);
  t.match(out, MDRP_REPOSITORY);
  t.equal(out.match(/MDRP_DATA_MISSING|MDRP_FILE_MISSING/g)?.length, 1, 'one error');
});
