-- The audit trail (DPA 2018 s.62), a Merkle tree in the style of RFC 9162. Only
-- `crate::audit` writes these tables. No foreign keys: the log must outlive what it names,
-- and a tampered row must be found by verification, not hidden by a cascade.

-- The single head row: the size of the log, its root and the frontier (the roots of the
-- perfect subtrees that make up the tree, largest first). Appends serialise on this row.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    tree_size BIGINT NOT NULL,
    root_hash BLOB NOT NULL,
    frontier BLOB NOT NULL
);
INSERT INTO audit_head (id, tree_size, root_hash, frontier) VALUES
    (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', X'');

-- One row per entry (leaf). `body` is the RFC 8785 canonical JSON of the entry, its seq
-- included, and `leaf_hash` = SHA-256(0x00 || body). `subtree_hashes` holds the interior
-- nodes this leaf completed (levels 1.., bottom-up), so any perfect-subtree node is one
-- primary-key look-up. `receipt_*` is the tree the append committed to.
CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY NOT NULL,
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
CREATE INDEX audit_entries_by_record ON audit_entries (record_id, seq);
CREATE INDEX audit_entries_by_time ON audit_entries (occurred_at, seq);
CREATE INDEX audit_entries_by_operation ON audit_entries (operation, seq);

-- The agencies an entry involves (`actor` or `recipient`): the scope of an ig_officer.
CREATE TABLE audit_entry_agencies (
    agency_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (agency_id, seq, relation)
);
CREATE INDEX audit_entry_agencies_by_seq ON audit_entry_agencies (seq);

-- The people an entry is about (opaque references): the disclosure report.
CREATE TABLE audit_entry_subjects (
    subject_ref TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (subject_ref, seq)
);
CREATE INDEX audit_entry_subjects_by_seq ON audit_entry_subjects (seq);

-- Signed tree heads (RFC 9162 TreeHeadSignature, Ed25519), kept for verification.
CREATE TABLE audit_tree_heads (
    tree_size BIGINT PRIMARY KEY NOT NULL,
    root_hash BLOB NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL
);
