ALTER TABLE partnership_members DROP COLUMN status;
