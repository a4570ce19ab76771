-- Sources may authenticate with a token in the webhook's URL (Splunk's stock webhook action
-- cannot send headers); the token is a source secret like the others, hashed and rotatable.
ALTER TABLE {schema}.sources DROP CONSTRAINT sources_auth_check;
ALTER TABLE {schema}.sources
    ADD CONSTRAINT sources_auth_check CHECK (auth IN ('bearer', 'hmac', 'url-token'));

-- Built-in adapters for Microsoft Sentinel incidents and Elastic Security alerts.
ALTER TABLE {schema}.sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE {schema}.sources ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('splunk', 'qradar', 'arcsight', 'generic', 'sentinel', 'elastic'));
