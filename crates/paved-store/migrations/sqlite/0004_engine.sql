-- The engine's desired state, in ECS's terms: clusters and task definitions (family:revision).
CREATE TABLE ecs_clusters (
    name TEXT PRIMARY KEY NOT NULL,
    arn TEXT NOT NULL,
    -- `ACTIVE` or `INACTIVE` (deleted; a new CreateCluster makes it active again).
    status TEXT NOT NULL,
    -- JSON list of `{key, value}`.
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE ecs_task_definitions (
    family TEXT NOT NULL,
    revision BIGINT NOT NULL,
    -- `ACTIVE` or `INACTIVE` (deregistered).
    status TEXT NOT NULL,
    -- The full TaskDefinition as the API returns it (JSON).
    body TEXT NOT NULL,
    -- JSON list of `{key, value}`.
    tags TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    deregistered_at BIGINT,
    -- Two replicas registering at once cannot both take the same revision.
    PRIMARY KEY (family, revision)
);
CREATE INDEX ecs_task_definitions_status ON ecs_task_definitions (status, family);
