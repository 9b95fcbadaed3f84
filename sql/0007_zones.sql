-- Up Migration
-- Delivery zones (issue 13): a GeoJSON Polygon or MultiPolygon in (lng, lat) order and its settings
-- (active, hours, options and promises, fee rules, fleet). Validated by the API before it gets here
-- (src/domain/zones.ts); every node caches all zones and rebuilds its H3 index on a change.
CREATE TABLE zones (
  id          text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  geometry    jsonb       NOT NULL CHECK (geometry->>'type' IN ('Polygon', 'MultiPolygon')),
  settings    jsonb       NOT NULL,
  version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL
);

-- Down Migration
DROP TABLE zones;
