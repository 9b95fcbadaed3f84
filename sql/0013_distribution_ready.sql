-- Up Migration
-- Issue 15: a schema a distributed Postgres (Citus) can shard as it is. The plan — which table is a
-- reference table, which is distributed by which column and co-located with which — is declared once in
-- src/store/pg/distribution-plan.ts (docs/scaling.md prints it; test/integration/citus-ready.test.ts
-- checks this schema against it). Citus enforces a unique constraint only when it contains the
-- distribution column, and a foreign key between distributed tables only when both are co-located and
-- it joins on that column. So every guarantee below is kept, but by a key that lives on one shard:
--
--   orders, order_events, assignments, webhook_outbox: by order id (co-located);
--   offers: by courier_id (one open offer per courier is a per-courier rule);
--   the three "one order per X" rules: small lookup tables distributed by X itself, written in the
--     same statement/transaction as the order (a distributed transaction under Citus);
--   dispatch_decisions: by order_id (text, its own co-location group).

-- (store, external id) → order: idempotent order creation per store.
CREATE TABLE order_external_ids (
  store_id    text NOT NULL,
  external_id text NOT NULL,
  order_id    uuid NOT NULL,
  PRIMARY KEY (store_id, external_id)
);
INSERT INTO order_external_ids (store_id, external_id, order_id) SELECT store_id, external_id, id FROM orders;
ALTER TABLE orders DROP CONSTRAINT orders_store_id_external_id_key;

-- quote → order: one order per quote.
CREATE TABLE order_quotes (
  quote_id uuid PRIMARY KEY,
  order_id uuid NOT NULL
);
INSERT INTO order_quotes (quote_id, order_id) SELECT quote_id, id FROM orders WHERE quote_id IS NOT NULL;
DROP INDEX orders_quote;

-- (carrier, carrier's delivery id) → order: one order per carrier delivery. Like the partial unique
-- index it replaces, it holds only the orders' current deliveries (the repository deletes the row when
-- an order leaves its carrier).
CREATE TABLE carrier_deliveries (
  fleet               text NOT NULL,
  carrier_delivery_id text NOT NULL,
  order_id            uuid NOT NULL,
  PRIMARY KEY (fleet, carrier_delivery_id)
);
INSERT INTO carrier_deliveries (fleet, carrier_delivery_id, order_id)
  SELECT fleet, carrier_delivery_id, id FROM orders WHERE carrier_delivery_id IS NOT NULL;
DROP INDEX orders_carrier_delivery;

-- The outbox: keyed by (order, version, store endpoint) — the event's own key — instead of the
-- globally unique event_id, and tied to its event by the event's primary key (both by order id).
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_id_fkey;
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_id_store_id_key;
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_order_version_store UNIQUE (order_id, version, store_id);
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_fkey
  FOREIGN KEY (order_id, version) REFERENCES order_events (order_id, version);
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_pkey;
ALTER TABLE webhook_outbox ADD PRIMARY KEY (order_id, id);
-- event ids are random UUIDs made by the service; nothing looks an event up by it alone any more
ALTER TABLE order_events DROP CONSTRAINT order_events_event_id_key;

-- Offers by courier: the primary key carries courier_id; offers_one_open_per_courier stays as it is.
-- An assignment (by order) can no longer reference its offer (by courier, another shard): the FK goes.
-- What keeps it true instead: an offer-made assignment is written only by an accept, in the
-- transaction that moved that very offer from 'open' to 'accepted' (OrderTx.closeOffer), offers are
-- never deleted, and assignments_offer_or_override still requires the offer id on such rows.
ALTER TABLE assignments DROP CONSTRAINT assignments_offer_id_fkey;
ALTER TABLE offers DROP CONSTRAINT offers_pkey;
ALTER TABLE offers ADD PRIMARY KEY (courier_id, id);

-- Assignments by order: the surrogate id stays, the key leads with the order.
ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments ADD PRIMARY KEY (order_id, id);

-- Decision history by order.
ALTER TABLE dispatch_decisions DROP CONSTRAINT dispatch_decisions_pkey;
ALTER TABLE dispatch_decisions ADD PRIMARY KEY (order_id, id);

-- Down Migration
ALTER TABLE dispatch_decisions DROP CONSTRAINT dispatch_decisions_pkey;
ALTER TABLE dispatch_decisions ADD PRIMARY KEY (id);
ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments ADD PRIMARY KEY (id);
ALTER TABLE offers DROP CONSTRAINT offers_pkey;
ALTER TABLE offers ADD PRIMARY KEY (id);
ALTER TABLE assignments ADD CONSTRAINT assignments_offer_id_fkey FOREIGN KEY (offer_id) REFERENCES offers (id);
ALTER TABLE order_events ADD CONSTRAINT order_events_event_id_key UNIQUE (event_id);
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_pkey;
ALTER TABLE webhook_outbox ADD PRIMARY KEY (id);
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_fkey;
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_order_version_store;
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_id_store_id_key UNIQUE (event_id, store_id);
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_id_fkey FOREIGN KEY (event_id) REFERENCES order_events (event_id);
CREATE UNIQUE INDEX orders_carrier_delivery ON orders (fleet, carrier_delivery_id) WHERE carrier_delivery_id IS NOT NULL;
DROP TABLE carrier_deliveries;
CREATE UNIQUE INDEX orders_quote ON orders (quote_id) WHERE quote_id IS NOT NULL;
DROP TABLE order_quotes;
ALTER TABLE orders ADD CONSTRAINT orders_store_id_external_id_key UNIQUE (store_id, external_id);
DROP TABLE order_external_ids;
