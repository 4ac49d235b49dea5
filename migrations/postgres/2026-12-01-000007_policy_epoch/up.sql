-- The policy epoch: one counter that every governance change moves (agreements, their
-- signatures, suspensions and terminations; partnerships, their members and terms; agencies;
-- subscriptions). A write planned on an earlier epoch is planned again, never applied.
CREATE TABLE policy_epoch (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO policy_epoch (id, epoch) VALUES (1, 0);
