-- Up Migration
-- Hybrid fleet (issue 13): which fleet delivered (or is delivering) an order — 'own' or a carrier's
-- name — and, when a carrier has it, the carrier's delivery id and what the carrier charges us (minor
-- units of its currency, like the order's fee). KPIs by fleet group on `fleet`; cost per order of a
-- carrier order is its carrier cost.
ALTER TABLE orders
  ADD COLUMN fleet                 text   NOT NULL DEFAULT 'own' CHECK (fleet ~ '^[a-z0-9_-]{1,64}$'),
  ADD COLUMN carrier_delivery_id   text,
  ADD COLUMN carrier_cost_minor    bigint CHECK (carrier_cost_minor >= 0),
  ADD COLUMN carrier_cost_currency text   CHECK (carrier_cost_currency ~ '^[A-Z]{3}$'),
  ADD CONSTRAINT orders_carrier_cost_pair CHECK ((carrier_cost_minor IS NULL) = (carrier_cost_currency IS NULL));
CREATE UNIQUE INDEX orders_carrier_delivery ON orders (fleet, carrier_delivery_id) WHERE carrier_delivery_id IS NOT NULL;

-- Down Migration
DROP INDEX orders_carrier_delivery;
ALTER TABLE orders
  DROP CONSTRAINT orders_carrier_cost_pair,
  DROP COLUMN carrier_cost_currency,
  DROP COLUMN carrier_cost_minor,
  DROP COLUMN carrier_delivery_id,
  DROP COLUMN fleet;
