-- Commissioned support: providers, the contracts and services commissioners fund, capacity
-- exceptions the providers record, and placements of referred people with services. Money is
-- kept as exact decimal text (never floating point); lists are JSON arrays as text.
CREATE TABLE support_providers (
    id TEXT PRIMARY KEY NOT NULL,
    registered_by_agency_id TEXT NOT NULL REFERENCES agencies(id),
    name TEXT NOT NULL,
    registration_number TEXT,
    inspection TEXT,
    areas TEXT NOT NULL,
    safeguarding_contact TEXT NOT NULL,
    agency_id TEXT REFERENCES agencies(id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE support_contracts (
    id TEXT PRIMARY KEY NOT NULL,
    commissioner_agency_id TEXT NOT NULL REFERENCES agencies(id),
    funding_stream TEXT NOT NULL,
    starts DATE NOT NULL,
    ends DATE NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX support_contracts_commissioner ON support_contracts (commissioner_agency_id);

CREATE TABLE support_services (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES support_providers(id),
    contract_id TEXT NOT NULL REFERENCES support_contracts(id),
    name TEXT NOT NULL,
    service_type TEXT NOT NULL,
    stages TEXT NOT NULL,
    areas TEXT NOT NULL,
    languages TEXT NOT NULL,
    places INTEGER NOT NULL,
    capacity_unit TEXT NOT NULL,
    unit_amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    unit_per TEXT NOT NULL,
    vat TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX support_services_contract ON support_services (contract_id);

CREATE TABLE support_service_areas (
    service_id TEXT NOT NULL REFERENCES support_services(id),
    area TEXT NOT NULL,
    PRIMARY KEY (service_id, area)
);
CREATE INDEX support_service_areas_area ON support_service_areas (area);

CREATE TABLE support_capacity_exceptions (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES support_services(id),
    extra_places INTEGER NOT NULL,
    reason TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    recorded_by_agency_id TEXT NOT NULL,
    recorded_by_subject TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX support_capacity_exceptions_service ON support_capacity_exceptions (service_id);

CREATE TABLE support_placements (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    service_id TEXT NOT NULL REFERENCES support_services(id),
    referring_agency_id TEXT NOT NULL,
    placed_by_agency_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    area TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX support_placements_service ON support_placements (service_id);
CREATE INDEX support_placements_referral ON support_placements (referral_id);
CREATE INDEX support_placements_area ON support_placements (area);
