-- Up Migration
-- Quotes (issue 13): an order placed from a quote keeps the quoted fee (minor units of its currency,
-- so no float in the ledger) and remembers the quote, one order per quote.
ALTER TABLE orders
  ADD COLUMN fee_minor    bigint CHECK (fee_minor >= 0),
  ADD COLUMN fee_currency text CHECK (fee_currency ~ '^[A-Z]{3}$'),
  ADD COLUMN quote_id     uuid,
  ADD CONSTRAINT orders_fee_pair CHECK ((fee_minor IS NULL) = (fee_currency IS NULL));
CREATE UNIQUE INDEX orders_quote ON orders (quote_id) WHERE quote_id IS NOT NULL;

-- Down Migration
DROP INDEX orders_quote;
ALTER TABLE orders
  DROP CONSTRAINT orders_fee_pair,
  DROP COLUMN quote_id,
  DROP COLUMN fee_currency,
  DROP COLUMN fee_minor;
