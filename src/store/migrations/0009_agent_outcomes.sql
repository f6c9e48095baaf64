-- Track record (docs/trust.md): one row per outcome of an agent's change-set (proposed, approved,
-- rejected, applied, rolled back…), written in the same statement as the transition it records.
-- Counting an agent's record over a window reads its rows of that window, by the index.
CREATE TABLE agent_outcomes (
  id              bigserial PRIMARY KEY,
  agent_id        text NOT NULL,
  change_set      uuid NOT NULL REFERENCES change_sets (id),
  category        text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('proposed', 'auto_approved', 'approved', 'rejected', 'applied',
                    'partially_applied', 'apply_failed', 'rolled_back')),
  -- A rejection by a reviewer's decision while pending.
  veto            boolean NOT NULL DEFAULT false,
  -- A rollback: milliseconds since the change-set was applied.
  after_apply_ms  bigint,
  at              timestamptz NOT NULL
);
CREATE INDEX agent_outcomes_agent_idx ON agent_outcomes (agent_id, at);
CREATE INDEX agent_outcomes_change_set_idx ON agent_outcomes (change_set);

-- The history before this migration, from the events the outbox kept.
INSERT INTO agent_outcomes (agent_id, change_set, category, outcome, veto, after_apply_ms, at)
SELECT c.agent_id, c.id, c.category,
  CASE e.type
    WHEN 'changeset.created' THEN 'proposed'
    WHEN 'changeset.approved' THEN
      CASE WHEN e.envelope #> '{data,auto_approved}' = 'true'::jsonb
             OR e.envelope #> '{data,required_approvals}' = '0'::jsonb THEN 'auto_approved' ELSE 'approved' END
    WHEN 'changeset.rejected' THEN 'rejected'
    WHEN 'changeset.applied' THEN
      CASE WHEN e.envelope #>> '{change_set,status}' = 'PARTIALLY_APPLIED' THEN 'partially_applied' ELSE 'applied' END
    WHEN 'changeset.apply_failed' THEN 'apply_failed'
    ELSE 'rolled_back'
  END,
  e.type = 'changeset.rejected' AND e.envelope #> '{data,revoked}' = 'false'::jsonb,
  CASE WHEN e.type = 'changeset.rolled_back' AND c.applied_at IS NOT NULL
    THEN greatest(0, (extract(epoch FROM e.occurred_at - c.applied_at) * 1000)::bigint) END,
  e.occurred_at
FROM outbox_events e JOIN change_sets c ON c.id = e.change_set
WHERE e.type IN ('changeset.created', 'changeset.approved', 'changeset.rejected', 'changeset.applied',
  'changeset.apply_failed', 'changeset.rolled_back')
ORDER BY e.id;
