-- One-time enrolments: how a human gets credentials without an admin ever holding them. The code is
-- kept only as its SHA-256 hash; redeeming it sets redeemed_at once (UPDATE ... WHERE redeemed_at IS
-- NULL), so of two concurrent redeems exactly one gets the token.
CREATE TABLE enrolments (
  id            text PRIMARY KEY,
  principal_id  text NOT NULL REFERENCES principals (id),
  code_hash     text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  expires_at    timestamptz NOT NULL,
  redeemed_at   timestamptz,
  token_id      text REFERENCES tokens (id)
);
CREATE INDEX enrolments_principal_idx ON enrolments (principal_id);
