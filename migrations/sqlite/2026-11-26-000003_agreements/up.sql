-- Partnerships, their members and versioned terms of reference; data-sharing agreements with
-- their versions, parties, data items, signatures, suspensions and termination. Status is
-- derived at read time from these facts and never stored.
CREATE TABLE partnerships (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    lead_agency_id TEXT REFERENCES agencies(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE partnership_areas (
    partnership_id TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    area TEXT NOT NULL,
    PRIMARY KEY (partnership_id, area)
);
CREATE INDEX partnership_areas_by_area ON partnership_areas(area);

CREATE TABLE partnership_members (
    partnership_id TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (partnership_id, agency_id)
);
CREATE INDEX partnership_members_by_agency ON partnership_members(agency_id);

CREATE TABLE terms_versions (
    partnership_id TEXT NOT NULL REFERENCES partnerships(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    scope TEXT NOT NULL,
    responsibilities TEXT NOT NULL,
    review_date DATE NOT NULL,
    published_at TIMESTAMP NOT NULL,
    published_by_agency_id TEXT,
    published_by_issuer TEXT NOT NULL,
    published_by_subject TEXT NOT NULL,
    PRIMARY KEY (partnership_id, version)
);

CREATE TABLE terms_acceptances (
    partnership_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    accepted_at TIMESTAMP NOT NULL,
    accepted_by_issuer TEXT NOT NULL,
    accepted_by_subject TEXT NOT NULL,
    PRIMARY KEY (partnership_id, version, agency_id),
    FOREIGN KEY (partnership_id, version)
        REFERENCES terms_versions(partnership_id, version) ON DELETE CASCADE
);

CREATE TABLE agreements (
    id TEXT PRIMARY KEY NOT NULL,
    partnership_id TEXT NOT NULL REFERENCES partnerships(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    terminated_at TIMESTAMP,
    terminated_by_agency_id TEXT,
    terminated_by_issuer TEXT,
    terminated_by_subject TEXT,
    termination_reason TEXT
);
CREATE INDEX agreements_by_partnership ON agreements(partnership_id);

CREATE TABLE agreement_versions (
    agreement_id TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    purposes TEXT NOT NULL,
    max_classification TEXT NOT NULL,
    effective_from TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    review_date DATE NOT NULL,
    retention_days BIGINT NOT NULL,
    -- JSON: procedures, other organisations, special-category and criminal-offence flags.
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by_agency_id TEXT,
    created_by_issuer TEXT NOT NULL,
    created_by_subject TEXT NOT NULL,
    PRIMARY KEY (agreement_id, version)
);

CREATE TABLE agreement_parties (
    agreement_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    regime TEXT NOT NULL,
    lawful_condition TEXT NOT NULL,
    special_category TEXT,
    contact TEXT,
    PRIMARY KEY (agreement_id, version, agency_id),
    FOREIGN KEY (agreement_id, version)
        REFERENCES agreement_versions(agreement_id, version) ON DELETE CASCADE
);
CREATE INDEX agreement_parties_by_agency ON agreement_parties(agency_id, agreement_id);

CREATE TABLE agreement_data_items (
    agreement_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    recipient_agency_id TEXT NOT NULL REFERENCES agencies(id),
    record_kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (agreement_id, version, recipient_agency_id, record_kind),
    FOREIGN KEY (agreement_id, version)
        REFERENCES agreement_versions(agreement_id, version) ON DELETE CASCADE
);

CREATE TABLE agreement_signatures (
    agreement_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    signed_at TIMESTAMP NOT NULL,
    signer_issuer TEXT NOT NULL,
    signer_subject TEXT NOT NULL,
    PRIMARY KEY (agreement_id, version, agency_id),
    FOREIGN KEY (agreement_id, version)
        REFERENCES agreement_versions(agreement_id, version) ON DELETE CASCADE
);

CREATE TABLE agreement_suspensions (
    id TEXT PRIMARY KEY NOT NULL,
    agreement_id TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    suspended_at TIMESTAMP NOT NULL,
    suspended_by_agency_id TEXT,
    suspended_by_issuer TEXT NOT NULL,
    suspended_by_subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    lifted_at TIMESTAMP,
    lifted_by_agency_id TEXT,
    lifted_by_issuer TEXT,
    lifted_by_subject TEXT,
    lift_note TEXT
);
CREATE INDEX agreement_suspensions_by_agreement ON agreement_suspensions(agreement_id);
