-- The owner of an event (or a phase or task) hears of its clock's warning and breach through
-- the same notification rows, worker and channels as approvals' assignees: a row is about an
-- approval stage or about one firing of an SLA timer (the due time it fired for).
ALTER TABLE {schema}.approval_notifications
    ALTER COLUMN approval_id DROP NOT NULL,
    ALTER COLUMN stage_index DROP NOT NULL,
    ALTER COLUMN stage DROP NOT NULL,
    ADD COLUMN timer_id uuid REFERENCES {schema}.sla_timers (id) ON DELETE CASCADE,
    ADD COLUMN timer_due_at timestamptz,
    ADD CONSTRAINT approval_notifications_about
        CHECK ((approval_id IS NULL) <> (timer_id IS NULL));
CREATE UNIQUE INDEX approval_notifications_timer
    ON {schema}.approval_notifications (timer_id, owner_id, reason, timer_due_at)
    WHERE timer_id IS NOT NULL;

-- What a notice names an event by.
ALTER TABLE {schema}.event_facts ADD COLUMN name text;
