/**
 * MapLibre GL, by default with a blank style: a background colour and GeoJSON layers only — no tiles,
 * no glyphs, no sprites, nothing fetched from anywhere (the service may run offline); a basemap when
 * the service is configured with one (shared/basemap.ts). Text labels live in HTML.
 */
import maplibregl from 'maplibre-gl';

export type LngLat = [number, number];

export const BLANK_STYLE: maplibregl.StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9edf1' } }],
};

/** A map on `container`, or null (with a note in the container) when the browser has no WebGL. */
export function createMap(
  container: HTMLElement,
  center: LngLat,
  zoom: number,
  style: maplibregl.StyleSpecification | string = BLANK_STYLE,
  /** The note shown instead of the map (pages with a message catalogue pass theirs). */
  unavailable = (why: string) => `Map unavailable (${why}); the lists below stay live.`,
): maplibregl.Map | null {
  try {
    return new maplibregl.Map({ container, style, center, zoom, attributionControl: style === BLANK_STYLE ? false : { compact: true }, maxZoom: 19 });
  } catch (err) {
    container.classList.add('map-unavailable');
    container.textContent = unavailable(err instanceof Error ? err.message : 'WebGL');
    return null;
  }
}

export const emptyCollection = (): GeoJSON.FeatureCollection => ({ type: 'FeatureCollection', features: [] });

/** Sets a GeoJSON source's data, creating the source on first use. */
export function setData(map: maplibregl.Map, id: string, data: GeoJSON.FeatureCollection): void {
  const source = map.getSource(id) as maplibregl.GeoJSONSource | undefined;
  if (source) source.setData(data);
  else map.addSource(id, { type: 'geojson', data });
}

export function point(lng: number, lat: number, properties: Record<string, unknown>): GeoJSON.Feature {
  return { type: 'Feature', geometry: { type: 'Point', coordinates: [lng, lat] }, properties };
}

/** Fits the map to points (once there are any), with a padding and a zoom cap for a single point. */
export function fitTo(map: maplibregl.Map, points: readonly LngLat[], maxZoom = 15): void {
  if (points.length === 0) return;
  const bounds = new maplibregl.LngLatBounds(points[0], points[0]);
  for (const p of points) bounds.extend(p);
  map.fitBounds(bounds, { padding: 40, maxZoom, animate: false });
}

/** Runs `fn` now if the style is loaded, else once it is. */
export function whenLoaded(map: maplibregl.Map, fn: () => void): void {
  if (map.isStyleLoaded()) fn();
  else map.once('load', fn);
}
