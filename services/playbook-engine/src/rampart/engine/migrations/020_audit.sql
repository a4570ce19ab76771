-- Who tried what with playbooks: every upload attempt, and each run an administrator started
-- against a deactivated playbook or a pinned older version.
CREATE TABLE {schema}.audit (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    token_id uuid,
    action text NOT NULL CHECK (action IN ('upload', 'run')),
    playbook text,
    version integer,
    outcome text NOT NULL,
    detail text
);
CREATE INDEX audit_at ON {schema}.audit (at DESC, id DESC);
