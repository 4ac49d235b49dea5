-- The audit tables are append-only at the database: UPDATE and DELETE are refused on
-- audit_entries, audit_entry_agencies, audit_entry_subjects and audit_tree_heads. The one
-- update the hub itself makes, moving the single audit_head row forward on each append, is
-- allowed only forward (a larger tree_size, same id); the head row cannot be deleted.
--
-- Maintenance path: while the one-row table audit_maintenance holds its row, the triggers
-- let everything through. Insert it and delete it in the same transaction as the change, so
-- it is never committed:
--     BEGIN; INSERT INTO audit_maintenance (id, reason) VALUES (1, '...'); ...;
--     DELETE FROM audit_maintenance; COMMIT;
-- Triggers are created by table name, after any earlier rebuild of these tables.
CREATE TABLE audit_maintenance (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    reason TEXT NOT NULL
);

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;

CREATE TRIGGER audit_entry_agencies_no_update BEFORE UPDATE ON audit_entry_agencies
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entry_agencies is append-only'); END;
CREATE TRIGGER audit_entry_agencies_no_delete BEFORE DELETE ON audit_entry_agencies
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entry_agencies is append-only'); END;

CREATE TRIGGER audit_entry_subjects_no_update BEFORE UPDATE ON audit_entry_subjects
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entry_subjects is append-only'); END;
CREATE TRIGGER audit_entry_subjects_no_delete BEFORE DELETE ON audit_entry_subjects
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_entry_subjects is append-only'); END;

CREATE TRIGGER audit_tree_heads_no_update BEFORE UPDATE ON audit_tree_heads
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_tree_heads is append-only'); END;
CREATE TRIGGER audit_tree_heads_no_delete BEFORE DELETE ON audit_tree_heads
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_tree_heads is append-only'); END;

CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
    AND (NEW.id IS NOT OLD.id OR NEW.tree_size <= OLD.tree_size)
BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_head is append-only'); END;
