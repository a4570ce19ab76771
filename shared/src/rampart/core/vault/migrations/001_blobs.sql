-- Content-addressed files: one row per distinct content, its bytes in ordered chunks.
CREATE TABLE {schema}.blobs (
    id uuid PRIMARY KEY,
    sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size bigint NOT NULL CHECK (size >= 0),
    content_type text NOT NULL,
    name text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Chunks are written before the blob row they belong to, whose digest is known only at the
-- end of the stream; the deferred key lets both land in one transaction.
CREATE TABLE {schema}.chunks (
    blob_id uuid NOT NULL REFERENCES {schema}.blobs (id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED,
    seq integer NOT NULL CHECK (seq >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
