-- Playbooks, each version kept; runs are pinned to the version they started with.
CREATE TABLE {schema}.playbooks (
    name text NOT NULL,
    version integer NOT NULL,
    labels text[] NOT NULL DEFAULT '{}',
    priority integer NOT NULL DEFAULT 100,
    active boolean NOT NULL DEFAULT true,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- The engine's own copy of what it needs of each ingested event to evaluate triggers.
CREATE TABLE {schema}.events (
    event_id uuid PRIMARY KEY,
    name text NOT NULL,
    severity text NOT NULL,
    labels text[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT now()
);
