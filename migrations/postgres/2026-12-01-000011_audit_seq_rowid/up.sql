-- Verification reads the log in seq order: audit_entries already is (its primary key is seq);
-- the link tables get indexes that cover a seq-ordered range read (index-only scans, no sort).
DROP INDEX audit_entry_agencies_by_seq;
CREATE INDEX audit_entry_agencies_by_seq ON audit_entry_agencies (seq, agency_id, relation);
DROP INDEX audit_entry_subjects_by_seq;
CREATE INDEX audit_entry_subjects_by_seq ON audit_entry_subjects (seq, subject_ref);
