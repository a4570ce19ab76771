-- Action requests as received; the request key makes a resend a no-op.
CREATE TABLE {schema}.action_requests (
    request_key text PRIMARY KEY,
    action text NOT NULL,
    target jsonb NOT NULL,
    params jsonb NOT NULL DEFAULT '{}',
    event_id uuid,
    run_id uuid,
    requested_by text NOT NULL,
    status text NOT NULL DEFAULT 'received',
    received_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
