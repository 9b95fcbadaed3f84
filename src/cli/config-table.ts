/**
 * Regenerates the configuration table in README.md from `configKeys` (src/config.ts):
 *
 *   npx tsx src/cli/config-table.ts          # rewrite the table between the README markers
 *   npx tsx src/cli/config-table.ts --print  # print it instead
 */
import { readFile, writeFile } from 'node:fs/promises';
import { configTableMarkdown } from '../config.js';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

const table = configTableMarkdown();
if (process.argv.includes('--print')) {
  console.log(table);
} else {
  const file = new URL('../../README.md', import.meta.url);
  const readme = await readFile(file, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) {
    console.error(`README.md lacks the ${START} … ${END} markers`);
    process.exitCode = 1;
  } else {
    await writeFile(file, readme.slice(0, from + START.length) + '\n' + table + '\n' + readme.slice(to));
    console.log('README.md config table regenerated');
  }
}
