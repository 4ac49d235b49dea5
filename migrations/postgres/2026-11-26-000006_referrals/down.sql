DROP TABLE idempotency_keys;
DROP TABLE referral_routing;
DROP TABLE referral_events;
DROP TABLE referrals;
