-- What the consumer tests' probe service stores for each message it handles.
CREATE TABLE {schema}.received (
    message_id text PRIMARY KEY,
    message_type text NOT NULL,
    subject_id uuid NOT NULL,
    attempt int NOT NULL
);
