DROP TABLE support_placements;
DROP TABLE support_capacity_exceptions;
DROP TABLE support_service_areas;
DROP TABLE support_services;
DROP TABLE support_contracts;
DROP TABLE support_providers;
