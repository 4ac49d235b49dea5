-- NGO referrals through the NRM pathway (issue 6): the referral, its lifecycle events, its
-- routing decisions, and the Idempotency-Key records of POSTs that create things.
CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    referring_agency_id TEXT NOT NULL REFERENCES agencies(id),
    area TEXT NOT NULL,
    classification TEXT NOT NULL,
    pathway TEXT NOT NULL,
    status TEXT NOT NULL,
    child BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    ack_due_at TIMESTAMP NOT NULL,
    rg_due_at TIMESTAMP,
    rg_escalated_at TIMESTAMP,
    nrm_submitted_by TEXT REFERENCES agencies(id),
    consent_withdrawn_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_by_agency ON referrals(referring_agency_id, id);
CREATE INDEX referrals_rg_due ON referrals(status, rg_due_at);

CREATE TABLE referral_events (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    note TEXT,
    reason TEXT,
    ictg_role TEXT,
    occurred_at TIMESTAMP NOT NULL,
    UNIQUE (referral_id, seq)
);

CREATE TABLE referral_routing (
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    route TEXT NOT NULL,
    purpose TEXT NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    agreement_id TEXT,
    agreement_version INTEGER,
    fields TEXT NOT NULL,
    notification_id TEXT,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (referral_id, agency_id)
);
CREATE INDEX referral_routing_by_agency ON referral_routing(agency_id, referral_id);

CREATE TABLE idempotency_keys (
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    idem_key TEXT NOT NULL,
    scope TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agency_id, idem_key)
);
