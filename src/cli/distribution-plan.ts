/**
 * Regenerates the Citus plan block in docs/scaling.md from DISTRIBUTION_PLAN
 * (src/store/pg/distribution-plan.ts):
 *
 *   npm run docs:distribution          # rewrite the block between the markers
 *   npm run docs:distribution -- --print
 */
import { readFile, writeFile } from 'node:fs/promises';
import { distributionSql } from '../store/pg/distribution-plan.js';

const START = '<!-- distribution-plan:begin -->';
const END = '<!-- distribution-plan:end -->';

const sql = distributionSql();
if (process.argv.includes('--print')) {
  console.log(sql);
} else {
  const file = new URL('../../docs/scaling.md', import.meta.url);
  const doc = await readFile(file, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) {
    console.error(`docs/scaling.md lacks the ${START} … ${END} markers`);
    process.exitCode = 1;
  } else {
    await writeFile(file, `${doc.slice(0, from + START.length)}\n\`\`\`sql\n${sql}\n\`\`\`\n${doc.slice(to)}`);
    console.log('docs/scaling.md distribution plan regenerated');
  }
}
