-- Up Migration
-- Courier location history: personal data, kept RETENTION_DAYS and removed by dropping whole daily
-- partitions (src/store/pg/position-partitions.ts creates them ahead of time and drops old ones).
-- Partitioned by device time `ts` in UTC days. The primary key (courier_id, ts, seq) contains the
-- partition key, as Postgres requires of unique keys on partitioned tables; it makes re-inserting a
-- re-delivered point a no-op (ON CONFLICT DO NOTHING) and serves (courier, time range) reads.
CREATE TABLE courier_positions (
  courier_id  text             NOT NULL,
  seq         bigint           NOT NULL,
  ts          timestamptz      NOT NULL,
  lat         double precision NOT NULL,
  lng         double precision NOT NULL,
  acc         real,
  speed       real,
  heading     real,
  received_at timestamptz      NOT NULL,
  PRIMARY KEY (courier_id, ts, seq)
) PARTITION BY RANGE (ts);

-- Down Migration
DROP TABLE courier_positions;
