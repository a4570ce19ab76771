-- Outbox rows the bus refused on their own data (a routing key or a body over the broker's
-- limits): set aside with the reason in the relay's transaction, so the rows behind them go on.
CREATE TABLE {schema}.outbox_refused (
    seq bigint PRIMARY KEY,
    message_id text NOT NULL,
    message_type text NOT NULL,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);
