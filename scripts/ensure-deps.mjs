// Runs `npm ci` when node_modules is missing or older than package-lock.json, so `npm start` and
// `npm test` work straight from a fresh clone. Plain JavaScript with no dependencies: it runs
// before any are installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const lock = join(root, 'package-lock.json');
// npm rewrites node_modules/.package-lock.json on every install: its age is the install's age.
const marker = join(root, 'node_modules', '.package-lock.json');

function reason() {
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(marker)) return 'node_modules was not installed by npm';
  if (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000) return 'package-lock.json is newer than node_modules';
  return undefined;
}

const why = reason();
if (why) {
  console.error(`ensure-deps: ${why}; running npm ci`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (res.status !== 0) {
    console.error('ensure-deps: npm ci failed');
    process.exit(res.status ?? 1);
  }
}
