-- Up Migration
-- Orders and everything that happens to them. The order row is the current state; order_events is
-- its append-only history; both are written in one transaction with the webhook outbox rows, so the
-- row, the history and what stores will be told never disagree.

CREATE TABLE orders (
  id              uuid PRIMARY KEY,
  store_id        text        NOT NULL,
  external_id     text        NOT NULL,
  -- sha256 of the canonical create request: same (store, external id) + same hash = replay, else 409
  request_hash    text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('placed', 'ready', 'offered', 'assigned', 'at_pickup',
                    'picked_up', 'at_dropoff', 'delivered', 'cancelled', 'returning', 'returned', 'failed')),
  version         integer     NOT NULL CHECK (version >= 1),
  zone            text        NOT NULL,
  pickup_lat      double precision NOT NULL,
  pickup_lng      double precision NOT NULL,
  pickup_address  text,
  dropoff_lat     double precision NOT NULL,
  dropoff_lng     double precision NOT NULL,
  dropoff_address text,
  items           integer     NOT NULL CHECK (items >= 1),
  size            integer     NOT NULL CHECK (size >= 1),
  placed_at       timestamptz NOT NULL,
  ready_at        timestamptz NOT NULL,
  ready_known     boolean     NOT NULL,
  delivery_option text        NOT NULL CHECK (delivery_option IN ('express', 'standard', 'scheduled')),
  window_from     timestamptz,
  window_to       timestamptz,
  promised_by     timestamptz NOT NULL,
  pin             text,
  courier_id      text,
  offer_id        uuid,
  declined_by     text[]      NOT NULL DEFAULT '{}',
  reason          text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (store_id, external_id),
  CHECK ((delivery_option = 'scheduled') = (window_from IS NOT NULL AND window_to IS NOT NULL))
);
-- listing: newest first per status/store, cursor on (created_at, id)
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_store_created ON orders (store_id, created_at DESC, id DESC);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
-- a courier's current task
CREATE INDEX orders_courier_active ON orders (courier_id)
  WHERE status IN ('offered', 'assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'returning');

CREATE TABLE order_events (
  event_id   uuid        NOT NULL UNIQUE,
  order_id   uuid        NOT NULL REFERENCES orders (id),
  version    integer     NOT NULL,
  type       text        NOT NULL,
  actor_role text        NOT NULL,
  actor_id   text        NOT NULL,
  at         timestamptz NOT NULL,
  data       jsonb       NOT NULL DEFAULT '{}',
  PRIMARY KEY (order_id, version)
);

-- History is append-only: refuse updates and deletes outright.
CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'order_events is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER order_events_no_update BEFORE UPDATE OR DELETE ON order_events
  FOR EACH ROW EXECUTE FUNCTION order_events_append_only();

CREATE TABLE offers (
  id          uuid        PRIMARY KEY,
  courier_id  text        NOT NULL,
  order_ids   uuid[]      NOT NULL,
  stops       jsonb       NOT NULL,
  status      text        NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'expired', 'withdrawn')),
  reason      text,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  answered_at timestamptz
);
-- one open offer per courier at a time, enforced here so two concurrent offers cannot both land
CREATE UNIQUE INDEX offers_one_open_per_courier ON offers (courier_id) WHERE status = 'open';

CREATE TABLE assignments (
  order_id    uuid        NOT NULL REFERENCES orders (id),
  courier_id  text        NOT NULL,
  offer_id    uuid        NOT NULL REFERENCES offers (id),
  assigned_at timestamptz NOT NULL,
  -- set when the order leaves the courier (delivered, cancelled, returned, failed)
  ended_at    timestamptz,
  end_status  text,
  PRIMARY KEY (order_id, offer_id)
);
CREATE INDEX assignments_courier ON assignments (courier_id, assigned_at DESC);

-- One row per (event, store endpoint: stores.webhook_url from 0001), written in the order change's transaction. The sender delivers
-- per order in version order and never a later version while an earlier one is pending.
CREATE TABLE webhook_outbox (
  id              bigserial   PRIMARY KEY,
  event_id        uuid        NOT NULL REFERENCES order_events (event_id),
  store_id        text        NOT NULL,
  order_id        uuid        NOT NULL,
  version         integer     NOT NULL,
  url             text        NOT NULL,
  payload         jsonb       NOT NULL,
  created_at      timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  attempts        integer     NOT NULL DEFAULT 0,
  last_error      text,
  delivered_at    timestamptz,
  -- gave up after WEBHOOK_RETRY_FOR_MS; later versions of the order then go ahead
  dead_at         timestamptz,
  UNIQUE (event_id, store_id)
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (order_id, version)
  WHERE delivered_at IS NULL AND dead_at IS NULL;

-- Down Migration
DROP TABLE webhook_outbox;
DROP TABLE assignments;
DROP TABLE offers;
DROP TABLE order_events;
DROP FUNCTION order_events_append_only();
DROP TABLE orders;
