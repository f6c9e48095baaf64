-- The outbox NOTIFY moves out of the writing transaction. A transaction that notifies takes a
-- database-wide lock at commit and holds it through its WAL flush, so notifying commits cannot
-- share a flush (group commit): the PostgreSQL adapter sets changeledger.notify_after_commit on
-- its connections and sends one coalesced NOTIFY after its commits instead (store/pg-db.ts).
-- Every other writer (PGlite, psql, an older instance during an upgrade) still notifies here.
CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('changeledger.notify_after_commit', true), '') <> 'on' THEN
    PERFORM pg_notify('changeledger_events', '');
  END IF;
  RETURN NULL;
END;
$$;
