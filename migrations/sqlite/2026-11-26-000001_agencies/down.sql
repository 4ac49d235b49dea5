DROP TABLE identity_providers;
DROP TABLE agency_areas;
DROP TABLE agencies;
