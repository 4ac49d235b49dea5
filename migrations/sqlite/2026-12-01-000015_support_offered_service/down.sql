ALTER TABLE referral_events DROP COLUMN service_id;
