ALTER TABLE identity_providers DROP COLUMN console_redirect_uri;
ALTER TABLE identity_providers DROP COLUMN console_client_secret;
ALTER TABLE identity_providers DROP COLUMN console_client_id;
