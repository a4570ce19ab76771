-- Events: one row per correlated security event; (source, source_ref) de-duplicates resends.
CREATE TABLE {schema}.events (
    id uuid PRIMARY KEY,
    source text NOT NULL,
    source_ref text,
    name text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    labels text[] NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'closed')),
    data jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_source_ref ON {schema}.events (source, source_ref)
    WHERE source_ref IS NOT NULL;
CREATE INDEX events_created ON {schema}.events (created_at DESC, id DESC);

ALTER TABLE {schema}.events ADD COLUMN sla_breached_at timestamptz;
