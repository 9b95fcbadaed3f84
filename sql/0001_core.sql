-- Up Migration
-- The durable record of who takes part: couriers, stores (with their webhook endpoint) and API keys.
-- Ids are text: they are the JWT `sub` of the courier or store, chosen by the operator (e.g. 'c42').

CREATE TABLE couriers (
  id          text        PRIMARY KEY CHECK (id <> ''),
  name        text,
  phone       text,
  vehicle     text        NOT NULL DEFAULT 'bike' CHECK (vehicle IN ('foot', 'bike', 'scooter', 'car', 'van')),
  -- capacity units carried at once (see dispatch/types.ts CourierState.capacity)
  capacity    integer     NOT NULL DEFAULT 1 CHECK (capacity >= 1),
  active      boolean     NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stores (
  id              text        PRIMARY KEY CHECK (id <> ''),
  name            text        NOT NULL,
  lat             double precision CHECK (lat BETWEEN -90 AND 90),
  lng             double precision CHECK (lng BETWEEN -180 AND 180),
  -- order status webhooks: POSTed to webhook_url, signed with HMAC-SHA256 of webhook_secret
  webhook_url     text        CHECK (webhook_url IS NULL OR webhook_url ~ '^https?://'),
  webhook_secret  text,
  active          boolean     NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);

-- Long-lived credentials for machine clients (a store's backend) that exchange them for short JWTs.
-- Only a hash is kept; the key itself is shown once when created.
CREATE TABLE api_keys (
  id          text        PRIMARY KEY,
  key_hash    text        NOT NULL UNIQUE,
  role        text        NOT NULL CHECK (role IN ('courier', 'store', 'customer', 'dispatcher', 'admin')),
  subject     text        NOT NULL,
  label       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_subject ON api_keys (role, subject) WHERE revoked_at IS NULL;

-- Down Migration
DROP TABLE api_keys;
DROP TABLE stores;
DROP TABLE couriers;
