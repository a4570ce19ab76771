-- The registry owner a clock's owner field names, by id or by name. A loop of its own looks the
-- field up outside any transaction (a clock never waits for the registry) and notes which
-- text it looked up, so an owner changed since is looked up again.
ALTER TABLE {schema}.sla_timers ADD COLUMN owner_id uuid, ADD COLUMN owner_looked_up text;
CREATE INDEX sla_timers_owner_to_look_up ON {schema}.sla_timers (id)
    WHERE owner IS NOT NULL AND owner IS DISTINCT FROM owner_looked_up
    AND status IN ('pending', 'paused');
