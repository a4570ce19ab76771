-- Action requests, their runs per asset, every attempt, and the per-asset run slots.
DROP TABLE IF EXISTS {schema}.action_requests;

CREATE TABLE {schema}.requests (
    request_key text PRIMARY KEY,
    action text NOT NULL,
    target jsonb NOT NULL,
    params jsonb NOT NULL DEFAULT '{}',
    event_id uuid,
    playbook_run_id uuid,
    requested_by text NOT NULL,
    not_before timestamptz,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
    outcome text,
    message text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

CREATE TABLE {schema}.action_runs (
    id uuid PRIMARY KEY,
    request_key text NOT NULL REFERENCES {schema}.requests (request_key),
    action text NOT NULL,
    asset_id uuid NOT NULL,
    asset text NOT NULL,
    connector text NOT NULL,
    params jsonb NOT NULL,
    fingerprint text NOT NULL,
    retry_safe boolean NOT NULL,
    concurrency_limit integer NOT NULL CHECK (concurrency_limit >= 1),
    event_id uuid,
    playbook_run_id uuid,
    requested_by text NOT NULL,
    status text NOT NULL CHECK (status IN (
        'pending_approval', 'scheduled', 'queued', 'running',
        'success', 'failed', 'denied', 'expired', 'cancelled', 'unknown'
    )),
    not_before timestamptz,
    approval jsonb,
    decided_by text,
    decision_comment text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until timestamptz,
    dispatched_at timestamptz,
    waiting_since timestamptz,
    summary jsonb NOT NULL DEFAULT '{}',
    data jsonb NOT NULL DEFAULT '[]',
    message text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (request_key, asset_id)
);
CREATE INDEX action_runs_request ON {schema}.action_runs (request_key);
CREATE INDEX action_runs_open ON {schema}.action_runs (status, not_before)
    WHERE status IN ('scheduled', 'queued', 'running');
CREATE INDEX action_runs_asset ON {schema}.action_runs (asset_id, created_at);
CREATE INDEX action_runs_waiting ON {schema}.action_runs (asset_id, waiting_since)
    WHERE waiting_since IS NOT NULL;
CREATE INDEX action_runs_event ON {schema}.action_runs (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE {schema}.attempts (
    action_run_id uuid NOT NULL REFERENCES {schema}.action_runs (id),
    number integer NOT NULL,
    runner text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    outcome text CHECK (outcome IN ('success', 'failed', 'transient', 'timeout', 'lost')),
    error text NOT NULL DEFAULT '',
    PRIMARY KEY (action_run_id, number)
);

-- One row per occupied slot of an asset; a slot whose lease passed is free again.
CREATE TABLE {schema}.asset_slots (
    asset_id uuid NOT NULL,
    slot integer NOT NULL,
    action_run_id uuid NOT NULL,
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (asset_id, slot)
);
