-- A trigger job that keeps failing on its data ends: it is kept, marked failed, and no longer
-- tried. Its attempts now count failures only (they counted every try, outages included).
ALTER TABLE {schema}.trigger_jobs ADD COLUMN failed_at timestamptz;
UPDATE {schema}.trigger_jobs SET attempts = 0;
