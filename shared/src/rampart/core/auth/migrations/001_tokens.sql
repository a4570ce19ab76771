-- API tokens, stored only as SHA-256 hashes of the secret shown once at creation.
CREATE TABLE {schema}.tokens (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'analyst', 'approver', 'ingest', 'service')),
    subject text,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
