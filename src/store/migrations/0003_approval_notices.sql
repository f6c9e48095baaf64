-- Approval deadline notices (SPEC §5): when this round's reminder, escalation and expiry were
-- handled. Submit clears them, so every round of approval is reminded once.
ALTER TABLE change_sets
  ADD COLUMN reminded_at   timestamptz,
  ADD COLUMN escalated_at  timestamptz,
  ADD COLUMN expired_at    timestamptz;

-- The scheduler's question, "which pending change-sets are past their deadline", reads only the
-- few pending rows instead of every change-set ever made.
CREATE INDEX change_sets_pending_deadline_idx ON change_sets (approval_deadline)
  WHERE status = 'PENDING_APPROVAL';
