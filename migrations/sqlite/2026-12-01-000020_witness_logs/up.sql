-- msht-hub as a witness ([witness]): for each log it follows (by origin), the size and root
-- of the latest checkpoint it cosigned. A row only moves forward, under checks of the
-- add-checkpoint request (old size, consistency proof) in the same transaction.
CREATE TABLE witness_logs (
    origin TEXT PRIMARY KEY NOT NULL,
    tree_size BIGINT NOT NULL,
    root_hash BLOB NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
