-- A timer the engine fails to act on is tried again later, not first in line forever: how many
-- times it failed, and the last reason, kept with the row.
ALTER TABLE {schema}.run_timers ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE {schema}.run_timers ADD COLUMN last_error text;
