-- Up Migration
-- Learned prep times (issue 14): the service rebuilds its prep-time model from the orders whose ready
-- time is known, placed in the last PREP_HISTORY_DAYS (src/store/pg/prep-history.ts). Partial index so
-- the refresh reads only the window of ready orders, newest first, without scanning the whole table.
CREATE INDEX orders_ready_placed ON orders (placed_at DESC) WHERE ready_known;

-- Down Migration
DROP INDEX orders_ready_placed;
