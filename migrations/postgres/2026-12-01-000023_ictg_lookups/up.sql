-- ICTG monitoring looks up, for each record routed to an ICTG service, when that service was
-- first notified, and lists the records routed on one route: without these indexes each
-- lookup scanned every notification of the ICTG agency (quadratic in the records monitored).
CREATE INDEX notifications_by_agency_record ON notifications(agency_id, record_id, created_at);
CREATE INDEX routing_decisions_by_route ON routing_decisions(route, decision, incident_id);
CREATE INDEX referral_routing_by_route ON referral_routing(route, decision, referral_id);
