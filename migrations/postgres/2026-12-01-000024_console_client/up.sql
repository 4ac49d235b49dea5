-- The IG console signs officers in through their agency's own issuer as an OpenID client:
-- its client id, its client secret (sealed under the hub's secret key; none for a public
-- client using PKCE alone) and the redirect URI registered at the issuer.
ALTER TABLE identity_providers ADD COLUMN console_client_id TEXT;
ALTER TABLE identity_providers ADD COLUMN console_client_secret TEXT;
ALTER TABLE identity_providers ADD COLUMN console_redirect_uri TEXT;
