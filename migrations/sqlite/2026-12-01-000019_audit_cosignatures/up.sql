-- Witness cosignatures (C2SP tlog-cosignature) of the log's checkpoints: one line per
-- witness and checkpoint size, served after the hub's own signature. Append-only, like the
-- log (same maintenance path as 000018).
CREATE TABLE audit_cosignatures (
    tree_size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    signature_line TEXT NOT NULL,
    cosigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END;
