-- Approvals: one per gated action run, moving through its stages until decided or expired.
CREATE TABLE {schema}.approvals (
    id uuid PRIMARY KEY,
    action_run_id uuid NOT NULL UNIQUE,
    request_key text NOT NULL,
    action text NOT NULL,
    asset text NOT NULL,
    connector text,
    params jsonb NOT NULL DEFAULT '{}',
    fingerprint text,
    requested_by text NOT NULL,
    event_id uuid,
    required_approvals integer NOT NULL CHECK (required_approvals >= 1),
    stages jsonb NOT NULL,
    stage_index integer NOT NULL DEFAULT 0,
    stage text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    decided_by text
);
CREATE INDEX approvals_status ON {schema}.approvals (status, created_at);
CREATE INDEX approvals_event ON {schema}.approvals (event_id);

-- Who may decide at each stage: people, after groups were expanded to their members.
CREATE TABLE {schema}.approval_assignees (
    approval_id uuid NOT NULL REFERENCES {schema}.approvals (id) ON DELETE CASCADE,
    stage_index integer NOT NULL,
    owner_id uuid NOT NULL,
    via_group uuid,
    PRIMARY KEY (approval_id, stage_index, owner_id)
);
CREATE INDEX approval_assignees_owner ON {schema}.approval_assignees (owner_id);

-- Every decision by every assignee; one per person and stage.
CREATE TABLE {schema}.approval_decisions (
    approval_id uuid NOT NULL REFERENCES {schema}.approvals (id) ON DELETE CASCADE,
    stage_index integer NOT NULL,
    owner_id uuid NOT NULL,
    decision text NOT NULL CHECK (decision IN ('approve', 'deny')),
    comment text NOT NULL DEFAULT '',
    channel text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (approval_id, stage_index, owner_id)
);

-- The approval's story: requested, escalated, decided, expired, refused attempts.
CREATE TABLE {schema}.approval_history (
    seq bigserial PRIMARY KEY,
    approval_id uuid NOT NULL REFERENCES {schema}.approvals (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    actor text,
    channel text,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX approval_history_approval ON {schema}.approval_history (approval_id, seq);
