-- The platform core: one lease mechanism (named, with a fencing generation), durable jobs
-- (which replace the scaffolder's tasks), and audit records that name principal, action and
-- resource.

-- Leases: a generation that every acquisition bumps, so a holder that lost its lease is fenced.
ALTER TABLE leases ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;

-- Locations are leased through `leases` (`location:<id>`) like everything else.
ALTER TABLE locations DROP COLUMN lease_owner;
ALTER TABLE locations DROP COLUMN lease_until;

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- The subject while this job holds it (running, or queued as an exclusive job); NULL
    -- otherwise. Unique: one job of a subject at a time.
    exclusive_subject TEXT UNIQUE,
    -- queued, running, succeeded, failed, cancelled
    state TEXT NOT NULL,
    principal TEXT NOT NULL,
    plan TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT,
    error TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_state ON jobs (state, created_at);
CREATE INDEX jobs_subject ON jobs (subject, created_at);
CREATE INDEX jobs_kind ON jobs (kind, created_at);

CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    step TEXT NOT NULL,
    -- info, step, done, warning, error
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- Tasks become jobs: unfinished ones are queued again and resume on the next start.
INSERT INTO jobs (id, kind, subject, exclusive_subject, state, principal, plan, progress, result,
                  error, cancel_requested, attempts, created_at, updated_at, finished_at)
SELECT id, kind, subject,
       CASE WHEN state IN ('pending', 'running') THEN subject END,
       CASE WHEN state IN ('pending', 'running') THEN 'queued' ELSE state END,
       'admin', request, '{}', result, error, FALSE, 0, created_at, updated_at,
       CASE WHEN state IN ('succeeded', 'failed') THEN updated_at END
FROM tasks;
INSERT INTO job_events (job_id, seq, at, step, level, message)
SELECT task_id, seq, at, step, level, message FROM task_events;
DROP TABLE task_events;
DROP TABLE tasks;
ALTER TABLE services RENAME COLUMN task_id TO job_id;

-- Audit records name the principal, the action and the resource (kind, name, owner), and
-- where the call came from.
ALTER TABLE audit_events RENAME COLUMN actor TO principal;
ALTER TABLE audit_events RENAME COLUMN target TO resource_name;
ALTER TABLE audit_events ADD COLUMN resource_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN resource_owner TEXT;
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
ALTER TABLE audit_events ADD COLUMN source TEXT;
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_principal ON audit_events (principal, id);
CREATE INDEX audit_events_resource ON audit_events (resource_kind, resource_name, id);
