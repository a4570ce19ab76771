-- Owners: a description, and when they last changed.
ALTER TABLE {schema}.owners
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Groups contain people.
CREATE TABLE {schema}.group_members (
    group_id uuid NOT NULL REFERENCES {schema}.owners (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES {schema}.owners (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_members_person ON {schema}.group_members (person_id);

-- Assets: the configuration's non-secret part in clear (for reads), which secrets are set,
-- the approval policy and the concurrency limit; config_sealed holds the whole configuration.
ALTER TABLE {schema}.assets
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN config_public jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN secrets_set text[] NOT NULL DEFAULT '{}',
    ADD COLUMN approval_policy jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN concurrency_limit integer NOT NULL DEFAULT 4 CHECK (concurrency_limit BETWEEN 1 AND 256);
CREATE INDEX assets_tags ON {schema}.assets USING gin (tags);
CREATE INDEX assets_connector ON {schema}.assets (connector);

-- Who answers for an asset, per approval stage, in the order given.
CREATE TABLE {schema}.asset_owners (
    asset_id uuid NOT NULL REFERENCES {schema}.assets (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES {schema}.owners (id) ON DELETE RESTRICT,
    stage text NOT NULL CHECK (stage IN ('primary', 'secondary', 'executive')),
    position integer NOT NULL,
    PRIMARY KEY (asset_id, stage, owner_id)
);
CREATE INDEX asset_owners_owner ON {schema}.asset_owners (owner_id);
