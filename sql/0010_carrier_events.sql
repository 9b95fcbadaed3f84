-- Up Migration
-- Hybrid fleet (issue 13): the carrier hand-off on the order. `carrier_status` is the last status the
-- carrier reported (its webhooks are applied only when they move it forward, so a retried or replayed
-- webhook changes nothing); `own_only` is set when a carrier failed or cancelled the order (or a
-- dispatcher forced the own fleet): dispatch never gives it to a carrier again.
ALTER TABLE orders
  ADD COLUMN carrier_status text CHECK (carrier_status IN ('created', 'courier_assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'delivered', 'failed', 'cancelled')),
  ADD COLUMN own_only       boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE orders
  DROP COLUMN own_only,
  DROP COLUMN carrier_status;
