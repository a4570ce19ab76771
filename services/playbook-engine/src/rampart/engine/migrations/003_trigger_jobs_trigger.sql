-- What started each trigger job, as the engine's typed trigger ({"kind", "message"}), so a
-- job is read back without looking at the message type.
ALTER TABLE {schema}.trigger_jobs ADD COLUMN trigger jsonb;
UPDATE {schema}.trigger_jobs SET trigger = jsonb_build_object(
    'kind',
    CASE envelope->>'type' WHEN 'rampart.event.ingested.v1' THEN 'event' ELSE 'update' END,
    'message',
    envelope->'data'
);
ALTER TABLE {schema}.trigger_jobs ALTER COLUMN trigger SET NOT NULL;
