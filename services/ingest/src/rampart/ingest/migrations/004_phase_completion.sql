-- A phase is complete when every one of its tasks is done; its SLA clock stops then.
ALTER TABLE {schema}.phases ADD COLUMN completed_at timestamptz;
