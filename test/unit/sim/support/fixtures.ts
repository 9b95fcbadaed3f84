/** Paths and loaders for the MDRP test fixtures. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultMdrpDir } from '../../../../src/sim/mdrp/data-dir.js';
import { parseInstance, type MdrpInstance, type MdrpInstanceFiles } from '../../../../src/sim/mdrp/instance.js';
import type { SolutionTexts } from '../../../../src/sim/mdrp/solution.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../../..');
export const tinyDir = join(repoRoot, 'test/fixtures/mdrp/tiny');
export const tinySolutionDir = join(repoRoot, 'test/fixtures/mdrp/tiny-solution');
/** The Grubhub instances: $MDRP_DATA or data/mdrp (see src/sim/mdrp/data-dir.ts), else the lab machine's shared copy. */
export const mdrpDataDir = existsSync(defaultMdrpDir()) ? defaultMdrpDir() : resolve(repoRoot, '../shared/data/mdrp');

export function tinyFiles(): MdrpInstanceFiles {
  const read = (name: string) => readFileSync(join(tinyDir, name), 'utf8');
  return {
    restaurants: read('restaurants.txt'),
    orders: read('orders.txt'),
    couriers: read('couriers.txt'),
    parameters: read('instance_parameters.txt'),
  };
}

/** The tiny instance, optionally with its files edited (e.g. to break one rule). */
export function tinyInstance(edit: (files: MdrpInstanceFiles) => Partial<MdrpInstanceFiles> = () => ({})): MdrpInstance {
  const files = tinyFiles();
  return parseInstance('tiny', { ...files, ...edit(files) });
}

export function tinySolution(): SolutionTexts {
  const read = (name: string) => readFileSync(join(tinySolutionDir, name), 'utf8');
  return {
    assignments: read('solution_info_assignments.txt'),
    orders: read('solution_info_orders.txt'),
    couriers: read('solution_info_couriers.txt'),
  };
}
