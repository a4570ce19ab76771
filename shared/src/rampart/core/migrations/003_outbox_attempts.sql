-- A row the bus refuses (unroutable, too large) is kept with its attempts and tried again
-- later, behind none of the others; past the limit it moves to outbox_dead with the reason.
ALTER TABLE {schema}.outbox
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN not_before timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN last_error text;

CREATE TABLE {schema}.outbox_dead (
    message_id text PRIMARY KEY,
    message_type text NOT NULL,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    attempts integer NOT NULL,
    reason text NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now()
);
