-- Owners: people and groups who answer for assets.
CREATE TABLE {schema}.owners (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('person', 'group')),
    email text,
    webhook_url text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Assets: configured instances of a product; the configuration is sealed (AES-GCM).
CREATE TABLE {schema}.assets (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    connector text NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    config_sealed bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
