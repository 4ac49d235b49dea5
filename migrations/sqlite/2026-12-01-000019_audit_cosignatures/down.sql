DROP TRIGGER audit_cosignatures_no_delete;
DROP TRIGGER audit_cosignatures_no_update;
DROP TABLE audit_cosignatures;
