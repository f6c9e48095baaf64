-- changeledger schema, version 1. Runs unchanged on PostgreSQL (13+) and PGlite.

CREATE TABLE principals (
  id            text PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('agent', 'human', 'service')),
  display_name  text,
  email         text,
  slack_id      text,
  groups        text[] NOT NULL DEFAULT '{}',
  risk          integer CHECK (risk BETWEEN 0 AND 100),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX principals_groups_idx ON principals USING gin (groups);

CREATE TABLE tokens (
  id            text PRIMARY KEY,
  principal_id  text NOT NULL REFERENCES principals (id),
  token_hash    text NOT NULL UNIQUE,
  name          text,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX tokens_principal_idx ON tokens (principal_id);

CREATE TABLE change_sets (
  id                  uuid PRIMARY KEY,
  change_set_id       text NOT NULL UNIQUE,
  title               text NOT NULL,
  description         text,
  agent_id            text NOT NULL,
  agent_type          text NOT NULL,
  category            text NOT NULL,
  priority            text NOT NULL,
  tags                text[] NOT NULL DEFAULT '{}',
  metadata            jsonb NOT NULL DEFAULT '{}',
  approval_chain      text[] NOT NULL DEFAULT '{}',
  auto_apply          boolean NOT NULL DEFAULT false,
  status              text NOT NULL,
  risk                jsonb NOT NULL,
  approval_steps      jsonb NOT NULL DEFAULT '[]',
  required_approvals  integer NOT NULL,
  received_approvals  integer NOT NULL DEFAULT 0,
  approval_deadline   timestamptz,
  policy_evaluations  jsonb NOT NULL DEFAULT '[]',
  content_hash        text NOT NULL,
  item_count          integer NOT NULL,
  version             integer NOT NULL DEFAULT 1,
  -- The head of this change-set's audit chain, so that removing its newest entries is detected.
  audit_head          text NOT NULL,
  audit_count         integer NOT NULL,
  created_at          timestamptz NOT NULL,
  created_by          text NOT NULL,
  updated_at          timestamptz NOT NULL,
  updated_by          text NOT NULL,
  submitted_at        timestamptz,
  applied_at          timestamptz,
  applied_by          text,
  rolled_back_at      timestamptz,
  rolled_back_by      text
);
CREATE INDEX change_sets_created_idx ON change_sets (created_at DESC, id DESC);
CREATE INDEX change_sets_status_idx ON change_sets (status, created_at DESC);
CREATE INDEX change_sets_agent_idx ON change_sets (agent_id, created_at DESC);

CREATE TABLE change_set_items (
  id                uuid PRIMARY KEY,
  change_set        uuid NOT NULL REFERENCES change_sets (id),
  sequence          integer NOT NULL,
  key               text NOT NULL,
  operation_type    text NOT NULL,
  target_type       text NOT NULL,
  target_id         text NOT NULL,
  after_state       jsonb,
  has_after_state   boolean NOT NULL,
  diff_data         jsonb,
  before_state      jsonb,
  has_before_state  boolean NOT NULL,
  base_version      integer,
  depends_on        text[] NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'PENDING',
  error             jsonb,
  -- What apply found and wrote, so that rollback can restore it exactly.
  applied_version   integer,
  previous_present  boolean,
  previous_state    jsonb,
  previous_version  integer,
  applied_order     integer,
  UNIQUE (change_set, sequence),
  UNIQUE (change_set, key)
);
CREATE INDEX change_set_items_target_idx ON change_set_items (target_type, target_id);

CREATE TABLE approvals (
  id             uuid PRIMARY KEY,
  change_set     uuid NOT NULL REFERENCES change_sets (id),
  approver_id    text NOT NULL,
  decision       text NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
  reason         text,
  content_hash   text NOT NULL,
  -- Returning to DRAFT makes earlier decisions stale: kept in the history, no longer counted.
  stale          boolean NOT NULL DEFAULT false,
  decided_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX approvals_current_idx ON approvals (change_set, approver_id) WHERE NOT stale;
CREATE INDEX approvals_change_set_idx ON approvals (change_set, decided_at);

CREATE TABLE resources (
  target_type   text NOT NULL,
  target_id     text NOT NULL,
  present       boolean NOT NULL,
  state         jsonb,
  version       integer NOT NULL,
  updated_at    timestamptz NOT NULL,
  change_set    uuid,
  PRIMARY KEY (target_type, target_id)
);

CREATE TABLE resource_history (
  target_type   text NOT NULL,
  target_id     text NOT NULL,
  version       integer NOT NULL,
  present       boolean NOT NULL,
  state         jsonb,
  operation     text NOT NULL,
  change_set    uuid NOT NULL,
  item          uuid,
  actor         text NOT NULL,
  at            timestamptz NOT NULL,
  PRIMARY KEY (target_type, target_id, version)
);
CREATE INDEX resource_history_change_set_idx ON resource_history (change_set);

CREATE TABLE audit_entries (
  seq         bigserial PRIMARY KEY,
  chain       text NOT NULL,
  chain_seq   integer NOT NULL,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  change_set  uuid,
  data        jsonb NOT NULL,
  prev_hash   text NOT NULL,
  hash        text NOT NULL,
  UNIQUE (chain, chain_seq)
);
CREATE INDEX audit_entries_change_set_idx ON audit_entries (change_set, chain_seq);

-- Heads of chains that are not a change-set's (the system chain); locked to append.
CREATE TABLE audit_heads (
  chain   text PRIMARY KEY,
  head    text NOT NULL,
  count   integer NOT NULL
);

CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entries_append_only
  BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
CREATE TRIGGER audit_entries_no_truncate
  BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();

CREATE TABLE outbox_events (
  id            bigserial PRIMARY KEY,
  type          text NOT NULL,
  occurred_at   timestamptz NOT NULL,
  actor         text NOT NULL,
  change_set    uuid,
  envelope      jsonb NOT NULL
);
CREATE INDEX outbox_events_change_set_idx ON outbox_events (change_set, id);
