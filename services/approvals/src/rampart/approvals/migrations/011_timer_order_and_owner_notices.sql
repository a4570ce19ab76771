-- A stop (event closed, task or phase completed) that arrives before its start leaves a row
-- that is not a clock yet (start_seen false): the start, when it comes, fills in its times and
-- leaves it stopped, so the order the two messages arrive in does not matter.
ALTER TABLE {schema}.sla_timers ADD COLUMN start_seen boolean NOT NULL DEFAULT true;
