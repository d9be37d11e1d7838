-- The catalog: registered locations, the entities they produce, and a change feed.
CREATE TABLE locations (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    refreshed_at BIGINT,
    next_refresh_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    problems TEXT NOT NULL DEFAULT '[]',
    UNIQUE (type, target)
);

CREATE TABLE entities (
    entity_ref TEXT PRIMARY KEY NOT NULL,
    uid TEXT NOT NULL UNIQUE,
    location_id TEXT REFERENCES locations (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    body TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    orphaned_at BIGINT,
    revision BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX entities_location ON entities (location_id);
CREATE INDEX entities_revision ON entities (revision);

CREATE TABLE entity_tombstones (
    entity_ref TEXT PRIMARY KEY NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX entity_tombstones_revision ON entity_tombstones (revision);

CREATE TABLE catalog_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO catalog_revision (id, value) VALUES (1, 0);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
