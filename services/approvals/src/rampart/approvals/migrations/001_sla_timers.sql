-- Every SLA timer: a due time on an event, an approval stage, a phase or a task.
CREATE TABLE {schema}.sla_timers (
    id uuid PRIMARY KEY,
    subject_kind text NOT NULL CHECK (subject_kind IN ('event', 'approval', 'phase', 'task')),
    subject_id uuid NOT NULL,
    event_id uuid,
    due_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'breached', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    fired_at timestamptz,
    UNIQUE (subject_kind, subject_id)
);
CREATE INDEX sla_timers_due ON {schema}.sla_timers (due_at) WHERE status = 'pending';
