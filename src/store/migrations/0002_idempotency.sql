-- Idempotency-Key: the first response to a POST, replayed to repeats from the same principal.
CREATE TABLE idempotency_keys (
  principal_id  text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  -- NULL while the first request is still being handled.
  status_code   integer,
  response      jsonb,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX change_sets_category_idx ON change_sets (category, created_at DESC);
CREATE INDEX change_sets_tags_idx ON change_sets USING gin (tags);
