-- Templates: golden paths, their versions (each holding its bundle), and template sync sources.
CREATE TABLE templates (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    title TEXT,
    description TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE template_versions (
    template TEXT NOT NULL REFERENCES templates (name) ON DELETE CASCADE,
    major BIGINT NOT NULL,
    minor BIGINT NOT NULL,
    status TEXT NOT NULL,
    format TEXT NOT NULL,
    engine TEXT NOT NULL,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    compatible_environments TEXT NOT NULL DEFAULT '[]',
    schema TEXT NOT NULL,
    pipeline_schema TEXT,
    bundle BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT,
    withdrawn_at BIGINT,
    withdrawn_reason TEXT,
    PRIMARY KEY (template, major, minor)
);

CREATE TABLE template_syncs (
    id TEXT PRIMARY KEY NOT NULL,
    repository TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_commit TEXT,
    last_synced_at BIGINT,
    problems TEXT NOT NULL DEFAULT '[]',
    UNIQUE (repository, reference)
);
