-- A claim of a delivery carries a token: only the claim's holder records the outcome or
-- renews the lease, so a late outcome of an expired claim changes nothing.
ALTER TABLE outbox ADD COLUMN lease_token TEXT;
