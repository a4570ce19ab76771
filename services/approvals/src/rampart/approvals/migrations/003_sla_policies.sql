-- Business-hours calendars and the SLA policies that count on them.
CREATE TABLE {schema}.calendars (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    spec jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {schema}.sla_policies (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    subject_kind text NOT NULL CHECK (subject_kind IN ('event', 'approval', 'phase', 'task')),
    severity text CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    minutes integer CHECK (minutes > 0),
    calendar_id uuid REFERENCES {schema}.calendars (id),
    warn_share double precision NOT NULL DEFAULT 0.8 CHECK (warn_share > 0 AND warn_share < 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- one policy per subject kind and severity (NULL severity: every severity of that kind)
CREATE UNIQUE INDEX sla_policies_match
    ON {schema}.sla_policies (subject_kind, coalesce(severity, '*'));

-- Timers learn where they started, how much (open) time they have, when they warn, and pause.
ALTER TABLE {schema}.sla_timers
    DROP CONSTRAINT sla_timers_status_check,
    ADD CONSTRAINT sla_timers_status_check
        CHECK (status IN ('pending', 'paused', 'breached', 'cancelled')),
    ADD COLUMN started_at timestamptz,
    ADD COLUMN budget interval,
    ADD COLUMN calendar_id uuid REFERENCES {schema}.calendars (id),
    ADD COLUMN policy_id uuid REFERENCES {schema}.sla_policies (id) ON DELETE SET NULL,
    ADD COLUMN warn_at timestamptz,
    ADD COLUMN warned_at timestamptz,
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN remaining interval,
    ADD COLUMN warn_remaining interval,
    ADD COLUMN stopped_at timestamptz,
    ADD COLUMN severity text,
    ADD COLUMN owner text;
UPDATE {schema}.sla_timers SET started_at = created_at, budget = due_at - created_at;
ALTER TABLE {schema}.sla_timers
    ALTER COLUMN started_at SET NOT NULL,
    ALTER COLUMN budget SET NOT NULL;
CREATE INDEX sla_timers_warn ON {schema}.sla_timers (warn_at)
    WHERE status = 'pending' AND warned_at IS NULL;
