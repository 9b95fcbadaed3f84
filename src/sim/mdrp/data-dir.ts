/**
 * Where the Grubhub MDRP instances come from and where the commands look for them. They are public data
 * but not part of this repository: https://github.com/grubhub/mdrplib, folder `public_instances/`, one
 * folder per instance (e.g. `0o50t100s1p100/`) holding restaurants.txt, orders.txt, couriers.txt and
 * instance_parameters.txt. The commands read them from `--dir` / `--instance`, by default from
 * `$MDRP_DATA` or `data/mdrp/` in the repository (git-ignored). When they are missing, every command
 * stops with one message saying so and how to get them, instead of one error per missing file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILE_NAMES } from './instance.js';

export const MDRP_REPOSITORY = 'https://github.com/grubhub/mdrplib';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The instances folder the commands use unless told otherwise: $MDRP_DATA, else <repo>/data/mdrp. */
export function defaultMdrpDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MDRP_DATA || join(repoRoot, 'data/mdrp'));
}

export const MDRP_HOW_TO_GET =
  `The MDRP instances are public but not in this repository. Get them from ${MDRP_REPOSITORY} (folder public_instances/, ` +
  'one folder per instance with restaurants.txt, orders.txt, couriers.txt, instance_parameters.txt), e.g.\n' +
  `  git clone --depth 1 ${MDRP_REPOSITORY} /tmp/mdrplib && mkdir -p data && cp -r /tmp/mdrplib/public_instances data/mdrp\n` +
  'then pass --dir data/mdrp (or --instance data/mdrp/<name>), or set MDRP_DATA to the folder.';

export class MdrpDataMissingError extends Error {
  readonly code = 'MDRP_DATA_MISSING';
  constructor(problem: string) {
    super(`${problem}\n${MDRP_HOW_TO_GET}`);
    this.name = 'MdrpDataMissingError';
  }
}

function missingFiles(dir: string): string[] {
  return Object.values(FILE_NAMES).filter((name) => !existsSync(join(dir, name)));
}

/** Throws one MdrpDataMissingError unless `dir` is an instance folder with all four files. */
export function requireInstanceDir(dir: string): void {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new MdrpDataMissingError(`No MDRP instance folder at ${abs}.`);
  const missing = missingFiles(abs);
  if (missing.length > 0) throw new MdrpDataMissingError(`${abs} is not an MDRP instance folder: ${missing.join(', ')} missing.`);
}

/**
 * The instance folders under `root` (sub-folders with all four files). With `names`, each must be one of
 * them. Throws one MdrpDataMissingError when the root is missing or holds none (or not the named ones).
 */
export function requireInstancesRoot(root: string, names?: readonly string[]): string[] {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new MdrpDataMissingError(`No MDRP instances folder at ${abs}.`);
  const present = readdirSync(abs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && missingFiles(join(abs, d.name)).length === 0)
    .map((d) => d.name)
    .sort();
  if (present.length === 0) throw new MdrpDataMissingError(`No MDRP instance folders (with ${Object.values(FILE_NAMES).join(', ')}) under ${abs}.`);
  const absent = (names ?? []).filter((n) => !present.includes(n));
  if (absent.length > 0) throw new MdrpDataMissingError(`${absent.length} of the requested instances are not under ${abs}: ${absent.join(', ')}.`);
  return present;
}

/** `--only`: a comma list of exact instance names, or one substring (the old form). */
export function selectInstances(present: readonly string[], only: string | undefined): string[] {
  if (!only) return [...present];
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length > 1 || present.includes(names[0] ?? '')) {
    const missing = names.filter((n) => !present.includes(n));
    if (missing.length > 0) throw new Error(`--only names no instance folder: ${missing.join(', ')}`);
    return present.filter((n) => names.includes(n));
  }
  return present.filter((n) => n.includes(names[0] ?? ''));
}
