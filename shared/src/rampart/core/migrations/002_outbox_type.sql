-- The message type travels as a broker property; keep it beside the body so the relay can
-- publish stored bytes without parsing them again.
ALTER TABLE {schema}.outbox ADD COLUMN message_type text NOT NULL DEFAULT '';
