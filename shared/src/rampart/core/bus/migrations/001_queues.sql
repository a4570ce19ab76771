-- The PostgreSQL bus: queues are rows, bindings say which routing keys each queue takes.
CREATE TABLE {schema}.bindings (
    queue text NOT NULL,
    pattern text NOT NULL,
    -- the AMQP topic pattern as a PostgreSQL regular expression, matched in the publish
    regex text NOT NULL,
    PRIMARY KEY (queue, pattern)
);

-- One row per message per bound queue. A consumer claims a row by moving visible_at past a
-- lease it renews while its handler runs, and deletes it once the handler's work committed.
CREATE TABLE {schema}.messages (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    message_id text NOT NULL,
    type text,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    -- like a quorum queue's delivery count: every claim counts, a crash included
    deliveries integer NOT NULL DEFAULT 0,
    visible_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON {schema}.messages (queue, visible_at, id);

CREATE TABLE {schema}.dead (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    message_id text NOT NULL,
    type text,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    reason text NOT NULL,
    deliveries integer NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON {schema}.dead (queue, id);
