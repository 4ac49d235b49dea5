-- A `support_offered` event names the service the person was placed with.
ALTER TABLE referral_events ADD COLUMN service_id TEXT;
