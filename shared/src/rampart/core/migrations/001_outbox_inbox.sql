-- The transactional outbox: messages written in the same transaction as the state they describe.
CREATE TABLE {schema}.outbox (
    seq bigserial PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The inbox: one row per message a consumer has handled, written in the handler's transaction.
CREATE TABLE {schema}.inbox (
    consumer text NOT NULL,
    message_id text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX ON {schema}.inbox (handled_at);
