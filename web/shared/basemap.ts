/**
 * The map's style: MAP_STYLE_URL as it is (any MapLibre style), else the service's own PMTiles archive
 * (MAP_TILES_FILE, read with HTTP range requests through the `pmtiles://` protocol) drawn with the
 * Protomaps light theme — without its label layers, which would need glyphs from elsewhere —, else the
 * blank style (nothing fetched: offline machines keep working).
 */
import maplibregl from 'maplibre-gl';
import { Protocol } from 'pmtiles';
import { layers, namedFlavor } from '@protomaps/basemaps';
import { BLANK_STYLE } from './map';
import type { PageConfig } from './page-config';

let protocolAdded = false;

export function basemapStyle(config: Pick<PageConfig, 'mapStyleUrl' | 'tilesUrl'>): maplibregl.StyleSpecification | string {
  if (config.mapStyleUrl) return config.mapStyleUrl;
  if (!config.tilesUrl) return BLANK_STYLE;
  if (!protocolAdded) {
    maplibregl.addProtocol('pmtiles', new Protocol().tile);
    protocolAdded = true;
  }
  return {
    version: 8,
    sources: { basemap: { type: 'vector', url: `pmtiles://${new URL(config.tilesUrl, location.href).href}`, attribution: '© OpenStreetMap' } },
    layers: layers('basemap', namedFlavor('light')),
  };
}
