// Schema what-ifs on change_sets' indexes on status, for the lifecycle bench and transition-cost.ts
// (bench databases only). While an index covers `status`, no transition of a change-set is a HOT
// update: each adds an entry to every index of the table.

/** The two indexes on status dropped. */
export const DROP_STATUS_INDEXES = 'DROP INDEX change_sets_status_idx, change_sets_pending_deadline_idx';

/** Room on each page for a row's new version (a HOT update stays on its page). */
export const FILLFACTOR_70 = 'ALTER TABLE change_sets SET (fillfactor = 70)';

/**
 * The status-keyed reads served from a narrow copy instead, kept by triggers (the design tried in
 * session 7): the indexes on status move to change_set_status.
 */
export const STATUS_COPY = `CREATE TABLE change_set_status (
    id uuid PRIMARY KEY REFERENCES change_sets (id) ON DELETE CASCADE, status text NOT NULL,
    created_at timestamptz NOT NULL, approval_deadline timestamptz);
  INSERT INTO change_set_status SELECT id, status, created_at, approval_deadline FROM change_sets;
  CREATE INDEX change_set_status_status_idx ON change_set_status (status, created_at DESC, id DESC);
  CREATE INDEX change_set_status_pending_deadline_idx ON change_set_status (approval_deadline)
    WHERE status = 'PENDING_APPROVAL';
  CREATE FUNCTION change_set_status_insert() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO change_set_status VALUES (NEW.id, NEW.status, NEW.created_at, NEW.approval_deadline);
    RETURN NULL;
  END $$;
  CREATE TRIGGER change_set_status_insert AFTER INSERT ON change_sets
    FOR EACH ROW EXECUTE FUNCTION change_set_status_insert();
  CREATE FUNCTION change_set_status_update() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE change_set_status SET status = NEW.status, approval_deadline = NEW.approval_deadline WHERE id = NEW.id;
    RETURN NULL;
  END $$;
  CREATE TRIGGER change_set_status_update AFTER UPDATE OF status, approval_deadline ON change_sets
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.approval_deadline IS DISTINCT FROM NEW.approval_deadline)
    EXECUTE FUNCTION change_set_status_update()`;
