CREATE TABLE incidents (
    id TEXT PRIMARY KEY NOT NULL,
    reporting_agency_id TEXT NOT NULL REFERENCES agencies(id),
    reference TEXT NOT NULL,
    area TEXT NOT NULL,
    classification TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX incidents_by_agency ON incidents(reporting_agency_id, id);

CREATE TABLE routing_decisions (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    route TEXT NOT NULL,
    purpose TEXT NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    agreement_id TEXT,
    agreement_version INTEGER,
    fields TEXT NOT NULL,
    incident_version INTEGER NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, agency_id)
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    discloser_agency_id TEXT NOT NULL REFERENCES agencies(id),
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    event TEXT NOT NULL,
    purpose TEXT NOT NULL,
    classification TEXT NOT NULL,
    child_at_risk BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT,
    escalated_at TIMESTAMP
);
CREATE INDEX notifications_by_agency ON notifications(agency_id, id);
CREATE INDEX notifications_open ON notifications(acknowledged_at, due_at);
