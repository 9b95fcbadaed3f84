/**
 * Basemaps made by the tests themselves (nothing downloaded): a small street grid around a point cut into
 * Mapbox vector tiles (@maplibre/geojson-vt + @maplibre/vt-pbf) in the Protomaps schema (layer `roads`,
 * kind `major_road`), served either as XYZ tiles with a MapLibre style from a loopback server, or packed
 * into a one-zoom PMTiles v3 archive (spec: github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md).
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { GeoJSONVT } from '@maplibre/geojson-vt';
import { fromGeojsonVt } from '@maplibre/vt-pbf';
import { zxyToTileId } from 'pmtiles';

export const TILE_ZOOM = 12;

/** A grid of streets every ~300 m within ±`spanDeg` of the centre. */
export function streetGrid(center: { lat: number; lng: number }, spanDeg = 0.03): GeoJSON.FeatureCollection {
  const features: GeoJSON.Feature[] = [];
  for (let d = -spanDeg; d <= spanDeg + 1e-9; d += 0.003) {
    features.push({ type: 'Feature', properties: { kind: 'major_road' }, geometry: { type: 'LineString', coordinates: [[center.lng - spanDeg, center.lat + d], [center.lng + spanDeg, center.lat + d]] } });
    features.push({ type: 'Feature', properties: { kind: 'major_road' }, geometry: { type: 'LineString', coordinates: [[center.lng + d, center.lat - spanDeg], [center.lng + d, center.lat + spanDeg]] } });
  }
  return { type: 'FeatureCollection', features };
}

export function tileOf(lat: number, lng: number, z: number): { x: number; y: number } {
  const n = 2 ** z;
  const x = Math.floor(((lng + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return { x, y };
}

/** The vector tile z/x/y of the grid (layer `roads`), or null where it has nothing. */
export function makeTiler(grid: GeoJSON.FeatureCollection): (z: number, x: number, y: number) => Uint8Array | null {
  const index = new GeoJSONVT(grid as never, { maxZoom: 16, indexMaxZoom: 16, tolerance: 1 } as never);
  return (z, x, y) => {
    const tile = index.getTile(z, x, y);
    return tile ? fromGeojsonVt({ roads: tile as never }, { version: 2 }) : null;
  };
}

/** A loopback server with `/style.json` (one red street layer, id `test-streets`) and `/tiles/z/x/y.pbf`. */
export async function startStyleServer(grid: GeoJSON.FeatureCollection): Promise<{ url: string; server: Server; tileRequests: () => number }> {
  const tiler = makeTiler(grid);
  let requests = 0;
  const server = createServer((req, res) => {
    const base = `http://${req.headers.host}`;
    res.setHeader('access-control-allow-origin', '*');
    if (req.url === '/style.json') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          version: 8,
          sources: { streets: { type: 'vector', tiles: [`${base}/tiles/{z}/{x}/{y}.pbf`], minzoom: 0, maxzoom: 16 } },
          layers: [
            { id: 'bg', type: 'background', paint: { 'background-color': '#f4f1ea' } },
            { id: 'test-streets', type: 'line', source: 'streets', 'source-layer': 'roads', paint: { 'line-color': '#ff0000', 'line-width': 4 } },
          ],
        }),
      );
      return;
    }
    const m = /^\/tiles\/(\d+)\/(\d+)\/(\d+)\.pbf$/.exec(req.url ?? '');
    if (m) {
      requests++;
      const tile = tiler(Number(m[1]), Number(m[2]), Number(m[3]));
      if (!tile) {
        res.statusCode = 204;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/x-protobuf');
      res.end(Buffer.from(tile));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/style.json`, server, tileRequests: () => requests };
}

function varints(values: number[]): number[] {
  const out: number[] = [];
  for (let v of values) {
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
  }
  return out;
}

/** Writes a PMTiles v3 archive of the grid's tiles at one zoom around the centre (uncompressed directory and tiles). */
export function writePmtiles(file: string, grid: GeoJSON.FeatureCollection, center: { lat: number; lng: number }, z = TILE_ZOOM): void {
  const tiler = makeTiler(grid);
  const c = tileOf(center.lat, center.lng, z);
  const tiles: { id: number; data: Uint8Array }[] = [];
  for (let dx = -1; dx <= 1; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      const data = tiler(z, c.x + dx, c.y + dy);
      if (data) tiles.push({ id: zxyToTileId(z, c.x + dx, c.y + dy), data });
    }
  }
  tiles.sort((a, b) => a.id - b.id);
  let offset = 0;
  const entries = tiles.map((tl) => {
    const e = { id: tl.id, offset, length: tl.data.length };
    offset += tl.data.length;
    return e;
  });
  // directory: count, delta tile ids, run lengths, lengths, offsets (0 = right after the previous one)
  const dir = Buffer.from(
    varints([
      entries.length,
      ...entries.map((e, i) => e.id - (i ? entries[i - 1]!.id : 0)),
      ...entries.map(() => 1),
      ...entries.map((e) => e.length),
      ...entries.map((e, i) => (i ? 0 : e.offset + 1)),
    ]),
  );
  const meta = Buffer.from(JSON.stringify({ name: 'dispatchd test streets', vector_layers: [{ id: 'roads', fields: { kind: 'String' } }] }));
  const data = Buffer.concat(tiles.map((tl) => Buffer.from(tl.data)));
  const header = Buffer.alloc(127);
  header.write('PMTiles', 0, 'ascii');
  header.writeUInt8(3, 7);
  const rootOff = 127;
  const metaOff = rootOff + dir.length;
  const dataOff = metaOff + meta.length;
  const u64 = (at: number, v: number) => header.writeBigUInt64LE(BigInt(v), at);
  u64(8, rootOff);
  u64(16, dir.length);
  u64(24, metaOff);
  u64(32, meta.length);
  u64(40, dataOff); // no leaf directories
  u64(48, 0);
  u64(56, dataOff);
  u64(64, data.length);
  u64(72, tiles.length);
  u64(80, tiles.length);
  u64(88, tiles.length);
  header.writeUInt8(1, 96); // clustered
  header.writeUInt8(1, 97); // internal compression: none
  header.writeUInt8(1, 98); // tile compression: none
  header.writeUInt8(1, 99); // tile type: MVT
  header.writeUInt8(z, 100); // min zoom
  header.writeUInt8(z, 101); // max zoom
  const e7 = (deg: number) => Math.round(deg * 1e7);
  header.writeInt32LE(e7(center.lng - 0.1), 102);
  header.writeInt32LE(e7(center.lat - 0.1), 106);
  header.writeInt32LE(e7(center.lng + 0.1), 110);
  header.writeInt32LE(e7(center.lat + 0.1), 114);
  header.writeUInt8(z, 118);
  header.writeInt32LE(e7(center.lng), 119);
  header.writeInt32LE(e7(center.lat), 123);
  writeFileSync(file, Buffer.concat([header, dir, meta, data]));
}
