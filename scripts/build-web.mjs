// Builds the browser pages (web/ → dist/web/) with esbuild: the console and tracking page scripts
// (MapLibre GL bundled in, no CDN), their HTML and CSS, and MapLibre's stylesheet. Plain JavaScript
// so `npm start` can run it before anything is compiled.
//   node scripts/build-web.mjs             always build
//   node scripts/build-web.mjs --if-stale  build only when dist/web is missing or older than its sources
// The build goes to a temporary folder that is renamed into place, so a server never serves half a build.
import { existsSync, mkdirSync, copyFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_SRC = join(root, 'web');
export const WEB_OUT = join(root, 'dist', 'web');
const STAMP = '.built';
const maplibreCss = join(root, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl.css');
const maplibrePkg = join(root, 'node_modules', 'maplibre-gl', 'package.json');
const uplotCss = join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css');

/** Files copied as they are: source (relative to web/) → name in dist/web. */
const COPIES = [
  ['console/index.html', 'console.html'],
  ['console/console.css', 'console.css'],
  ['track/index.html', 'track.html'],
  ['track/track.css', 'track.css'],
  ['shared/base.css', 'base.css'],
];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when dist/web is missing or older than web/ or the installed MapLibre. */
export function webIsStale(outDir = WEB_OUT) {
  const stamp = join(outDir, STAMP);
  if (!existsSync(stamp)) return true;
  const sources = Math.max(newestMtime(WEB_SRC), statSync(maplibrePkg).mtimeMs);
  return statSync(stamp).mtimeMs < sources;
}

export async function buildWeb({ outDir = WEB_OUT, minify = true } = {}) {
  const esbuild = await import('esbuild');
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: { console: join(WEB_SRC, 'console', 'main.ts'), track: join(WEB_SRC, 'track', 'main.ts') },
      outdir: tmp,
      bundle: true,
      format: 'esm',
      splitting: true,
      chunkNames: 'chunk-[hash]',
      target: ['es2020'],
      minify,
      legalComments: 'linked',
      tsconfig: join(WEB_SRC, 'tsconfig.json'),
      logLevel: 'warning',
    });
    for (const [from, to] of COPIES) copyFileSync(join(WEB_SRC, from), join(tmp, to));
    copyFileSync(maplibreCss, join(tmp, 'maplibre-gl.css'));
    copyFileSync(uplotCss, join(tmp, 'uPlot.min.css'));
    writeFileSync(join(tmp, STAMP), `${new Date().toISOString()}\n`);
    // Another process may have finished the same build meanwhile: keep a fresh one rather than
    // pulling it from under a server that is already serving it.
    if (existsSync(outDir) && !webIsStale(outDir)) return outDir;
    rmSync(outDir, { recursive: true, force: true });
    try {
      renameSync(tmp, outDir);
    } catch (err) {
      // lost a race against a concurrent build: fine when that one is complete
      if (!existsSync(outDir) || webIsStale(outDir)) throw err;
    }
    return outDir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Builds only when needed; fast (a few stat calls) when dist/web is up to date. */
export async function ensureWebBuilt(outDir = WEB_OUT) {
  if (webIsStale(outDir)) await buildWeb({ outDir });
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  const started = Date.now();
  const stale = !ifStale || webIsStale();
  if (stale) {
    await buildWeb();
    console.error(`build-web: dist/web built in ${Date.now() - started} ms`);
  }
}
