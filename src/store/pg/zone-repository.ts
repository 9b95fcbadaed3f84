/** Postgres adapter of delivery zones: the durable record every node's cache is loaded from. */
import type { Pool } from 'pg';
import type { Zone, ZoneGeometry, ZoneSettings } from '../../domain/zones.js';

export interface StoredZone extends Zone {
  readonly version: number;
  readonly updatedBy: string;
}

interface ZoneRow {
  id: string;
  geometry: ZoneGeometry;
  settings: ZoneSettings;
  version: number;
  updated_at: Date;
  updated_by: string;
}

const fromRow = (r: ZoneRow): StoredZone => ({
  id: r.id,
  geometry: r.geometry,
  settings: r.settings,
  version: r.version,
  updatedAt: r.updated_at.getTime(),
  updatedBy: r.updated_by,
});

export class PgZoneRepository {
  constructor(private readonly db: Pool) {}

  async list(): Promise<StoredZone[]> {
    const { rows } = await this.db.query<ZoneRow>('SELECT * FROM zones ORDER BY id');
    return rows.map(fromRow);
  }

  async get(id: string): Promise<StoredZone | null> {
    const { rows } = await this.db.query<ZoneRow>('SELECT * FROM zones WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Creates or replaces the zone; `created` tells which. */
  async put(id: string, geometry: ZoneGeometry, settings: ZoneSettings, at: number, by: string): Promise<{ zone: StoredZone; created: boolean }> {
    const { rows } = await this.db.query<ZoneRow & { created: boolean }>(
      `INSERT INTO zones (id, geometry, settings, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET geometry = EXCLUDED.geometry, settings = EXCLUDED.settings,
         version = zones.version + 1, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
       RETURNING *, (xmax = 0) AS created`,
      [id, JSON.stringify(geometry), JSON.stringify(settings), new Date(at), by],
    );
    return { zone: fromRow(rows[0]), created: rows[0].created };
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM zones WHERE id = $1', [id]);
    return res.rowCount === 1;
  }
}
