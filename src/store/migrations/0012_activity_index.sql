-- The activity overview (store/activity.ts) reads the audit trail by kind of entry and time: the
-- outcomes of a window of days and the decisions made in it, without reading the whole trail.
CREATE INDEX audit_entries_action_at_idx ON audit_entries (action, at);
