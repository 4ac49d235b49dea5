DROP INDEX audit_entry_agencies_by_seq;
CREATE INDEX audit_entry_agencies_by_seq ON audit_entry_agencies (seq);
DROP INDEX audit_entry_subjects_by_seq;
CREATE INDEX audit_entry_subjects_by_seq ON audit_entry_subjects (seq);
