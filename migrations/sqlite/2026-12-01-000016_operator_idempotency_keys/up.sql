-- Idempotency-Key records of the hub operator's own principals (hub_admin, hub_auditor), who
-- act for no agency: per principal (`owner` is the token's issuer and subject) and key, the
-- request made (scope and body hash) and the first response, as idempotency_keys holds them
-- per agency.
CREATE TABLE operator_idempotency_keys (
    owner TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    scope TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, idem_key)
);
