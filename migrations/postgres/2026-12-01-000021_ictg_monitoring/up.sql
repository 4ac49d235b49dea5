-- ICTG monitoring: the allocation of a guardian to a child victim of an incident that the ICTG
-- service was told of (a child's referral records its allocation as a referral event), and
-- the one escalation of each child whose allocation is overdue. A child is named by the
-- record (`incident` or `referral`), its id and, for an incident, the victim's position.
CREATE TABLE ictg_allocations (
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    victim INTEGER NOT NULL,
    ictg_agency_id TEXT NOT NULL REFERENCES agencies(id),
    ictg_role TEXT NOT NULL,
    allocated_at TIMESTAMP NOT NULL,
    recorded_by_issuer TEXT NOT NULL,
    recorded_by_subject TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_kind, record_id, victim)
);

CREATE TABLE ictg_escalations (
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    victim INTEGER NOT NULL,
    ictg_agency_id TEXT NOT NULL REFERENCES agencies(id),
    due_at TIMESTAMP NOT NULL,
    escalated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_kind, record_id, victim)
);
