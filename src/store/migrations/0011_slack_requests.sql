-- Slack interactions already received (issue 16): a request whose signature is here is a replay and
-- is refused. Only requests whose signature verified are kept, for as long as their timestamp could
-- still be accepted; every claim deletes the rows past that.
CREATE TABLE slack_requests (
  signature    text PRIMARY KEY,
  received_at  timestamptz NOT NULL
);
CREATE INDEX slack_requests_received_idx ON slack_requests (received_at);
