-- Witness cosignatures (C2SP tlog-cosignature) of the log's checkpoints: one line per
-- witness and checkpoint size, served after the hub's own signature. Append-only, like the
-- log (same maintenance path as 000018; grant the hub SELECT, INSERT only).
CREATE TABLE audit_cosignatures (
    tree_size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    signature_line TEXT NOT NULL,
    cosigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

CREATE TRIGGER audit_cosignatures_append_only BEFORE UPDATE OR DELETE ON audit_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
