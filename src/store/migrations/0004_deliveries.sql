-- Notifications: each outbox event is routed once into deliveries (one per channel and recipient),
-- which dispatchers claim with FOR UPDATE SKIP LOCKED, retry with back-off and dead-letter.
ALTER TABLE outbox_events ADD COLUMN routed_at timestamptz;
CREATE INDEX outbox_events_unrouted_idx ON outbox_events (id) WHERE routed_at IS NULL;

CREATE TABLE deliveries (
  id               uuid PRIMARY KEY,
  event_id         bigint NOT NULL REFERENCES outbox_events (id),
  event_type       text NOT NULL,
  channel          text NOT NULL,
  -- The principal it is for (email, Slack direct message); '' for channel-wide deliveries (webhook).
  recipient        text NOT NULL DEFAULT '',
  address          text,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  -- A claimed delivery is invisible to other dispatchers until then (a crashed one's claim expires).
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL,
  delivered_at     timestamptz,
  UNIQUE (event_id, channel, recipient)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX deliveries_listing_idx ON deliveries (created_at DESC, id DESC);

-- Every instance's event stream hears of new events (PostgreSQL LISTEN/NOTIFY; PGlite in-process).
CREATE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('changeledger_events', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
