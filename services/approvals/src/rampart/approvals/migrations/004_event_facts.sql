-- What the SLA report needs to know of each event, as its messages told it.
CREATE TABLE {schema}.event_facts (
    event_id uuid PRIMARY KEY,
    severity text NOT NULL,
    owner text,
    created_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    closed_at timestamptz
);
CREATE INDEX event_facts_created ON {schema}.event_facts (created_at);
