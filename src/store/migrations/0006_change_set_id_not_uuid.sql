-- One id namespace: a reference shaped like a UUID means a change-set's internal id and nothing else
-- (store/change-sets.ts byReference), so no change_set_id may have that shape. Creates refuse one;
-- the table forbids it. A row created before this version with such an id (one that could stand in
-- for another change-set) keeps its internal id and is renamed 'legacy-<its old change_set_id>'
-- (README, "Change-set ids"). Should that name be taken already, the unique index
-- stops the migration and nothing of it remains: rename the other row first.
UPDATE change_sets SET change_set_id = 'legacy-' || change_set_id
 WHERE change_set_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

ALTER TABLE change_sets ADD CONSTRAINT change_sets_change_set_id_not_uuid
  CHECK (change_set_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
