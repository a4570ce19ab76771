-- The event record grows an owner, a resolution and a close time.
ALTER TABLE {schema}.events
    ADD COLUMN owner text,
    ADD COLUMN resolution text,
    ADD COLUMN closed_at timestamptz;
CREATE INDEX events_status_created ON {schema}.events (status, created_at DESC, id DESC);
CREATE INDEX events_labels ON {schema}.events USING gin (labels);

-- Sources: who may push events, how they authenticate, and how their payloads map.
CREATE TABLE {schema}.sources (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('splunk', 'qradar', 'arcsight', 'generic')),
    auth text NOT NULL CHECK (auth IN ('bearer', 'hmac')),
    default_labels text[] NOT NULL DEFAULT '{}',
    default_severity text NOT NULL DEFAULT 'medium'
        CHECK (default_severity IN ('low', 'medium', 'high', 'critical')),
    severity_map jsonb NOT NULL DEFAULT '{}',
    sla_minutes jsonb NOT NULL DEFAULT '{}',
    mapping jsonb,
    workbook text,
    qradar jsonb,
    qradar_token bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A source's secrets: the current one (expires_at NULL) and rotated ones within their grace.
-- The hash verifies bearer secrets; the sealed copy keys HMAC signatures.
CREATE TABLE {schema}.source_secrets (
    id uuid PRIMARY KEY,
    source_id uuid NOT NULL REFERENCES {schema}.sources (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX source_secrets_source ON {schema}.source_secrets (source_id);

-- Signed webhook ids already accepted, kept for longer than the replay window.
CREATE TABLE {schema}.webhook_ids (
    source_id uuid NOT NULL,
    webhook_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, webhook_id)
);
CREATE INDEX webhook_ids_received ON {schema}.webhook_ids (received_at);

-- Artifacts: observables with CEF field names; the fingerprint merges identical resends.
CREATE TABLE {schema}.artifacts (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES {schema}.events (id) ON DELETE CASCADE,
    name text NOT NULL,
    cef jsonb NOT NULL,
    contains jsonb NOT NULL DEFAULT '{}',
    fingerprint bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, fingerprint)
);

CREATE TABLE {schema}.notes (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES {schema}.events (id) ON DELETE CASCADE,
    author text,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_event ON {schema}.notes (event_id, created_at);

-- Workbooks: phases of an event, each with tasks; both carry an owner and an SLA.
CREATE TABLE {schema}.phases (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES {schema}.events (id) ON DELETE CASCADE,
    name text NOT NULL,
    position integer NOT NULL,
    owner text,
    sla_minutes integer,
    due_at timestamptz,
    sla_breached_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, name)
);

CREATE TABLE {schema}.tasks (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES {schema}.events (id) ON DELETE CASCADE,
    phase_id uuid NOT NULL REFERENCES {schema}.phases (id) ON DELETE CASCADE,
    name text NOT NULL,
    position integer NOT NULL,
    owner text,
    sla_minutes integer,
    due_at timestamptz,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    note text,
    completed_by text,
    completed_at timestamptz,
    sla_breached_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (phase_id, name)
);
CREATE INDEX tasks_event ON {schema}.tasks (event_id);

-- Change requests from other services, applied once per request key.
CREATE TABLE {schema}.change_requests (
    request_key text PRIMARY KEY,
    event_id uuid NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- QRadar pollers: how far each source has read, and which replica holds its lease.
CREATE TABLE {schema}.qradar_state (
    source_id uuid PRIMARY KEY REFERENCES {schema}.sources (id) ON DELETE CASCADE,
    last_updated_ms bigint NOT NULL DEFAULT 0,
    next_poll_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_until timestamptz,
    last_run_at timestamptz,
    last_error text,
    offenses_seen bigint NOT NULL DEFAULT 0
);
