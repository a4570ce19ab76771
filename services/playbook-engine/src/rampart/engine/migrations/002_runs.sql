-- What the engine keeps of each playbook version besides its source.
ALTER TABLE {schema}.playbooks
    ADD COLUMN digest text NOT NULL DEFAULT '',
    ADD COLUMN entry text NOT NULL DEFAULT '',
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN has_predicate boolean NOT NULL DEFAULT false,
    ADD COLUMN on_update boolean NOT NULL DEFAULT false,
    ADD COLUMN budget jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN origin text NOT NULL DEFAULT 'upload' CHECK (origin IN ('folder', 'upload')),
    ADD COLUMN path text,
    ADD COLUMN created_by text;
CREATE INDEX playbooks_path ON {schema}.playbooks (path, version DESC) WHERE path IS NOT NULL;

-- One run of one playbook version on one event; its event snapshot is fixed for replays.
CREATE TABLE {schema}.runs (
    id uuid PRIMARY KEY,
    playbook text NOT NULL,
    version integer NOT NULL,
    event_id uuid NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'waiting', 'completed', 'failed', 'cancelled')),
    trigger text NOT NULL CHECK (trigger IN ('event', 'update', 'manual', 'child')),
    trigger_ref text,
    parent_run_id uuid REFERENCES {schema}.runs (id),
    parent_seq integer,
    event jsonb NOT NULL,
    steps integer NOT NULL DEFAULT 0,
    passes integer NOT NULL DEFAULT 0,
    next_order integer NOT NULL DEFAULT 0,
    result jsonb,
    error text,
    requested_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    FOREIGN KEY (playbook, version) REFERENCES {schema}.playbooks (name, version)
);
-- a trigger message starts a playbook at most once on an event
CREATE UNIQUE INDEX runs_triggered ON {schema}.runs (playbook, event_id, trigger_ref)
    WHERE trigger IN ('event', 'update');
CREATE INDEX runs_created ON {schema}.runs (created_at DESC, id DESC);
CREATE INDEX runs_event ON {schema}.runs (event_id, created_at DESC);
CREATE INDEX runs_playbook ON {schema}.runs (playbook, created_at DESC);
CREATE INDEX runs_parent ON {schema}.runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

-- A run's durable history: every command by step number, and its result once it arrived.
-- result_order is the order results arrived in, which replays follow.
CREATE TABLE {schema}.history (
    run_id uuid NOT NULL REFERENCES {schema}.runs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    kind text NOT NULL,
    command jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'done')),
    result jsonb,
    result_order integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (run_id, seq)
);

-- Durable wake-ups: a sleep ending, a prompt timing out, a child run's outcome, a run to
-- start, a run's deadline. Claimed with FOR UPDATE SKIP LOCKED by any replica.
CREATE TABLE {schema}.run_timers (
    id uuid PRIMARY KEY,
    run_id uuid NOT NULL REFERENCES {schema}.runs (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('start', 'result', 'deadline')),
    seq integer,
    result jsonb,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_timers_due ON {schema}.run_timers (due_at);
CREATE INDEX run_timers_run ON {schema}.run_timers (run_id);

-- Questions playbooks asked people, and their answers.
CREATE TABLE {schema}.prompts (
    id uuid PRIMARY KEY,
    run_id uuid NOT NULL REFERENCES {schema}.runs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    event_id uuid NOT NULL,
    question text NOT NULL,
    recipient text NOT NULL,
    choices text[] NOT NULL DEFAULT '{}',
    status text NOT NULL CHECK (status IN ('pending', 'answered', 'expired', 'cancelled')),
    answer text,
    answered_by text,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    UNIQUE (run_id, seq)
);
CREATE INDEX prompts_pending ON {schema}.prompts (recipient, created_at) WHERE status = 'pending';

-- Events waiting to start their playbooks: kept until ingest has answered and the runs are
-- created, so an ingest outage delays triggers instead of losing them.
CREATE TABLE {schema}.trigger_jobs (
    message_id text PRIMARY KEY,
    event_id uuid NOT NULL,
    envelope jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trigger_jobs_due ON {schema}.trigger_jobs (next_at);
