-- The engine's services, tasks and their events (ECS's terms), the local secret store, the
-- local load balancers' configuration, and named leases (one replica runs the local engine).
CREATE TABLE ecs_services (
    cluster TEXT NOT NULL,
    name TEXT NOT NULL,
    -- `ACTIVE`, `DRAINING` (deleted, tasks stopping) or `INACTIVE`.
    status TEXT NOT NULL,
    -- The engine's service record (JSON): the Service as ECS returns it, with its deployments.
    body TEXT NOT NULL,
    -- Bumped by every write; a write names the version it read, so concurrent writers never
    -- overwrite each other.
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (cluster, name)
);

CREATE TABLE ecs_service_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster TEXT NOT NULL,
    service TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX ecs_service_events_service ON ecs_service_events (cluster, service, id);

CREATE TABLE ecs_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    cluster TEXT NOT NULL,
    -- The service that started it; NULL for RunTask.
    service TEXT,
    -- `RUNNING` or `STOPPED`; written by API calls and the scheduler's own decisions.
    desired_status TEXT NOT NULL,
    -- The stop code and reason asked for with desired_status STOPPED.
    stop_request TEXT,
    -- `PROVISIONING` … `STOPPED`; written only by the replica running the task.
    last_status TEXT NOT NULL,
    -- The replica running it; NULL until one takes it.
    host TEXT,
    -- The Task as ECS returns it (JSON).
    body TEXT NOT NULL,
    -- JSON list of {pid, startTime} of its containers' process groups, to clean up after a crash.
    processes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    stopped_at BIGINT
);
CREATE INDEX ecs_tasks_cluster ON ecs_tasks (cluster, service, last_status);

CREATE TABLE engine_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE engine_load_balancers (
    cluster TEXT PRIMARY KEY NOT NULL,
    -- The listener, its rules and target groups (JSON).
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
