-- Verification and proofs read the log in seq order. `seq INTEGER PRIMARY KEY` makes seq the
-- rowid, so a scan in seq order walks the table's own b-tree (no index walk and table seek per
-- row), and an append writes one b-tree fewer. The link tables are clustered on seq
-- (WITHOUT ROWID, primary key starting with seq), with an index per agency and per subject
-- for the scoped queries. Existing rows are copied as they are.
CREATE TABLE audit_entries_v2 (
    seq INTEGER PRIMARY KEY NOT NULL,
    operation TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    record_kind TEXT,
    record_id TEXT,
    purpose TEXT,
    body TEXT NOT NULL,
    leaf_hash BLOB NOT NULL,
    subtree_hashes BLOB NOT NULL,
    receipt_tree_size BIGINT NOT NULL,
    receipt_root BLOB NOT NULL
);
INSERT INTO audit_entries_v2
    (seq, operation, occurred_at, record_kind, record_id, purpose, body, leaf_hash,
     subtree_hashes, receipt_tree_size, receipt_root)
SELECT seq, operation, occurred_at, record_kind, record_id, purpose, body, leaf_hash,
       subtree_hashes, receipt_tree_size, receipt_root
FROM audit_entries ORDER BY seq;
DROP TABLE audit_entries;
ALTER TABLE audit_entries_v2 RENAME TO audit_entries;
CREATE INDEX audit_entries_by_record ON audit_entries (record_id, seq);
CREATE INDEX audit_entries_by_time ON audit_entries (occurred_at, seq);
CREATE INDEX audit_entries_by_operation ON audit_entries (operation, seq);

CREATE TABLE audit_entry_agencies_v2 (
    agency_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (seq, agency_id, relation)
) WITHOUT ROWID;
INSERT INTO audit_entry_agencies_v2 (agency_id, seq, relation)
SELECT agency_id, seq, relation FROM audit_entry_agencies;
DROP TABLE audit_entry_agencies;
ALTER TABLE audit_entry_agencies_v2 RENAME TO audit_entry_agencies;
CREATE INDEX audit_entry_agencies_by_agency ON audit_entry_agencies (agency_id, seq);

CREATE TABLE audit_entry_subjects_v2 (
    subject_ref TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (seq, subject_ref)
) WITHOUT ROWID;
INSERT INTO audit_entry_subjects_v2 (subject_ref, seq)
SELECT subject_ref, seq FROM audit_entry_subjects;
DROP TABLE audit_entry_subjects;
ALTER TABLE audit_entry_subjects_v2 RENAME TO audit_entry_subjects;
CREATE INDEX audit_entry_subjects_by_subject ON audit_entry_subjects (subject_ref, seq);
