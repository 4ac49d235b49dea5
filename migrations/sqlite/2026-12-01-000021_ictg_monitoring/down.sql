DROP TABLE ictg_escalations;
DROP TABLE ictg_allocations;
