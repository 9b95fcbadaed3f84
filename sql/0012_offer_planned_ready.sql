-- Up Migration
-- Assignment updates (issue 14): an offer made by a dispatch round remembers, per order, the ready time
-- (epoch ms) the round planned it with, so a later round can tell that the order's ready estimate changed
-- since its courier was chosen ({"<orderId>": <ms>}; NULL for offers made by hand). The assigned orders a
-- round looks at are read by status (orders_status_created) and their open assignment.
ALTER TABLE offers ADD COLUMN planned_ready jsonb;

-- Down Migration
ALTER TABLE offers DROP COLUMN planned_ready;
