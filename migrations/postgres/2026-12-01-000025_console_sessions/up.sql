-- Sign-ins under way: one row per browser that was sent to its issuer, found again at the
-- callback by the hash of the handle in its short-lived cookie, used once.
CREATE TABLE console_sign_ins (
    handle_hash TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Signed-in console sessions. The cookie holds only a random handle; this table keeps its
-- hash. A session ends at sign-out, after its idle or absolute timeout, or when revoked.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    handle_hash TEXT NOT NULL UNIQUE,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    roles TEXT NOT NULL,
    display_name TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    purpose TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    end_reason TEXT
);
CREATE INDEX console_sessions_by_subject ON console_sessions(issuer, subject);
