-- The audit tables are append-only at the database: UPDATE, DELETE and TRUNCATE are refused
-- on audit_entries, audit_entry_agencies, audit_entry_subjects and audit_tree_heads. The one
-- update the hub itself makes, moving the single audit_head row forward on each append, is
-- allowed only forward (a larger tree_size, same id); the head row cannot be deleted and the
-- head table cannot be truncated.
--
-- Maintenance path: a transaction that runs
--     SET LOCAL msht_hub.audit_maintenance = 'on';
-- first is let through (the setting ends with the transaction).
--
-- Running the hub without DDL rights: let a separate owner role run the migrations
-- (`msht-hub migrate`, or the first start) and run the hub as a role that owns nothing, so it
-- can neither drop nor disable these triggers, with only the rights it uses on the audit
-- tables, for example:
--     GRANT SELECT, INSERT ON audit_entries, audit_entry_agencies, audit_entry_subjects,
--         audit_tree_heads TO msht_hub_app;
--     GRANT SELECT, UPDATE ON audit_head TO msht_hub_app;
-- Without UPDATE/DELETE/TRUNCATE grants the hub's credentials cannot use the maintenance
-- path on the entries either; only the owner can.
CREATE FUNCTION audit_maintenance_on() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('msht_hub.audit_maintenance', true), '') = 'on'
$$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF audit_maintenance_on() THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The head row moves forward only: same id, a larger size.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF audit_maintenance_on() THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.tree_size > OLD.tree_size THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% on audit_head refused: the audit head only moves forward', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_agencies_append_only BEFORE UPDATE OR DELETE ON audit_entry_agencies
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_agencies_no_truncate BEFORE TRUNCATE ON audit_entry_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_subjects_append_only BEFORE UPDATE OR DELETE ON audit_entry_subjects
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_subjects_no_truncate BEFORE TRUNCATE ON audit_entry_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_tree_heads_append_only BEFORE UPDATE OR DELETE ON audit_tree_heads
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_tree_heads_no_truncate BEFORE TRUNCATE ON audit_tree_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only();
