CREATE TABLE agencies (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    first_responder BOOLEAN NOT NULL,
    contact_email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE agency_areas (
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    area TEXT NOT NULL,
    PRIMARY KEY (agency_id, area)
);
CREATE INDEX agency_areas_by_area ON agency_areas(area);

CREATE TABLE identity_providers (
    agency_id TEXT PRIMARY KEY NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL UNIQUE,
    audience TEXT NOT NULL,
    roles_claim TEXT NOT NULL,
    role_map TEXT NOT NULL,
    accept_jwt_typ BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
