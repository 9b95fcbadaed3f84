-- Up Migration
-- Dispatch decisions (src/dispatch/decisions.ts): what each dispatch round decided for each order it
-- saw, and why. Written off the hot path in batches (runtime/decision-recorder.ts) and kept bounded:
-- the last 20 rounds per order and 7 days (pruned by the writer). The latest decision of an open order
-- also lives in Redis (`dispatch-decision:<orderId>`); this table is the history behind
-- GET /v1/orders/:id/dispatch. `body` is the whole decision as JSON; the columns are what queries use.
CREATE TABLE dispatch_decisions (
  id         bigserial PRIMARY KEY,
  order_id   text NOT NULL,
  at         timestamptz NOT NULL,
  zone       text NOT NULL,
  decision   text NOT NULL CHECK (decision IN ('assigned', 'waiting')),
  reason     text,
  courier_id text,
  body       jsonb NOT NULL
);
CREATE INDEX dispatch_decisions_order_at ON dispatch_decisions (order_id, at DESC, id DESC);
CREATE INDEX dispatch_decisions_at ON dispatch_decisions (at);

-- Down Migration
DROP TABLE dispatch_decisions;
