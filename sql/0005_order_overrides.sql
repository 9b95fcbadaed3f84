-- Up Migration
-- Dispatcher overrides (assign + pin, unassign, priority). An order remembers whether a dispatcher
-- pinned it to its courier (the optimizer never changes those) and its priority (0..10, higher is
-- more urgent). Assignments made by a dispatcher have no offer behind them: offer_id becomes
-- nullable and `assigned_by` says who bound the courier ('offer' for every row written so far).
ALTER TABLE orders
  ADD COLUMN pinned   boolean NOT NULL DEFAULT false,
  ADD COLUMN priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10);

-- the primary key (order_id, offer_id) cannot hold a NULL offer: a surrogate key instead, and the
-- old pair stays unique for offer-made rows
ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments
  ADD COLUMN id             bigserial PRIMARY KEY,
  ALTER COLUMN offer_id     DROP NOT NULL,
  ADD COLUMN assigned_by    text NOT NULL DEFAULT 'offer' CHECK (assigned_by IN ('offer', 'dispatcher', 'admin', 'system')),
  -- the dispatcher's or admin's id (JWT sub); NULL for offer-made rows
  ADD COLUMN assigned_by_id text,
  ADD CONSTRAINT assignments_offer_or_override CHECK ((assigned_by = 'offer') = (offer_id IS NOT NULL));
CREATE UNIQUE INDEX assignments_order_offer ON assignments (order_id, offer_id) WHERE offer_id IS NOT NULL;
-- at most one courier bound to an order at a time: a reassignment ends the old row first
CREATE UNIQUE INDEX assignments_one_open_per_order ON assignments (order_id) WHERE ended_at IS NULL;

-- Down Migration
DROP INDEX assignments_one_open_per_order;
DROP INDEX assignments_order_offer;
DELETE FROM assignments WHERE offer_id IS NULL;
ALTER TABLE assignments
  DROP CONSTRAINT assignments_offer_or_override,
  DROP COLUMN assigned_by_id,
  DROP COLUMN assigned_by,
  ALTER COLUMN offer_id SET NOT NULL,
  DROP COLUMN id;
ALTER TABLE assignments ADD PRIMARY KEY (order_id, offer_id);
ALTER TABLE orders
  DROP COLUMN priority,
  DROP COLUMN pinned;
