-- The guard of a write that was decided without holding the change-set's row lock (engine/scope.ts):
-- it is given the version its UPDATE ... WHERE version = <the version read> returned, NULL when
-- another writer got there first, and then fails the whole statement, so none of its writes remain.
CREATE FUNCTION changeledger_version_guard(version integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  IF version IS NULL THEN
    RAISE EXCEPTION 'the change-set changed while this action decided' USING ERRCODE = 'CL409';
  END IF;
  RETURN version;
END
$$;
