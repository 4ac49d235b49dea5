DROP TABLE audit_tree_heads;
DROP TABLE audit_entry_subjects;
DROP TABLE audit_entry_agencies;
DROP TABLE audit_entries;
DROP TABLE audit_head;
