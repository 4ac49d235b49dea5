-- An agency joins a partnership only by its own act: it is `invited` until its agency_admin
-- accepts (or accepts the current terms of reference), then a `member`. Rows from before
-- invitations existed were members already and stay members.
ALTER TABLE partnership_members ADD COLUMN status TEXT NOT NULL DEFAULT 'member';
