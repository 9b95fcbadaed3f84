-- Up Migration
-- The webhook sender claims outbox rows with a lease (a short committed write) instead of holding row
-- locks in a transaction across its HTTP calls, so one slow endpoint never holds up the others.
-- `lease` identifies the claim: only the sender holding it may record the outcome; a row whose
-- `locked_until` has passed (its sender died) may be claimed again, which re-sends it (at least once).
ALTER TABLE webhook_outbox
  ADD COLUMN locked_until timestamptz,
  ADD COLUMN lease        uuid;

-- Down Migration
ALTER TABLE webhook_outbox
  DROP COLUMN lease,
  DROP COLUMN locked_until;
