-- Mail the embedded mode's SMTP sink received, newest kept; the raw message as it came.
CREATE TABLE {schema}.messages (
    id uuid PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    mail_from text NOT NULL,
    rcpt_to text[] NOT NULL,
    subject text NOT NULL,
    raw bytea NOT NULL
);
CREATE INDEX messages_received ON {schema}.messages (received_at DESC, id DESC);
