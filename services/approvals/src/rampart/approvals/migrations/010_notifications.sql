-- One notification per assignee and occasion (a new stage, an SLA warning, a breach),
-- written with the change that caused it and delivered by whichever replica claims it.
CREATE TABLE {schema}.approval_notifications (
    id uuid PRIMARY KEY,
    approval_id uuid NOT NULL REFERENCES {schema}.approvals (id) ON DELETE CASCADE,
    stage_index integer NOT NULL,
    stage text NOT NULL,
    owner_id uuid NOT NULL,
    reason text NOT NULL CHECK (reason IN ('stage', 'warning', 'breach')),
    link_expires_at timestamptz,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'undeliverable', 'obsolete')),
    channel_index integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    channel text,
    last_error text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    UNIQUE (approval_id, stage_index, owner_id, reason)
);
CREATE INDEX approval_notifications_due ON {schema}.approval_notifications (next_attempt_at)
    WHERE status = 'pending';

-- Decision links that were used: a link decides once.
CREATE TABLE {schema}.approval_link_uses (
    link_id uuid PRIMARY KEY,
    approval_id uuid NOT NULL REFERENCES {schema}.approvals (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL,
    used_at timestamptz NOT NULL
);

-- One-time form tokens of the decision page; the confirmation's token holds what was reviewed.
CREATE TABLE {schema}.approval_link_forms (
    token_hash bytea PRIMARY KEY,
    link_id uuid NOT NULL,
    step text NOT NULL CHECK (step IN ('review', 'confirm')),
    decision text CHECK (decision IN ('approve', 'deny')),
    comment text,
    expires_at timestamptz NOT NULL
);
CREATE INDEX approval_link_forms_link ON {schema}.approval_link_forms (link_id);
