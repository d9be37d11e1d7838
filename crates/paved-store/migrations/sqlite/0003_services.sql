-- Services created from templates, and the durable tasks that create them.
CREATE TABLE services (
    name TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    template TEXT NOT NULL,
    template_version TEXT NOT NULL,
    repository_url TEXT NOT NULL,
    spec TEXT NOT NULL,
    task_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    -- What the task creates; unique, so two tasks never create the same service at once.
    subject TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX tasks_state ON tasks (state);

CREATE TABLE task_events (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    step TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
