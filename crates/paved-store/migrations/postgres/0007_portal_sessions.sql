-- Portal sign-in sessions: the cookie carries a random id; only its SHA-256 is stored, so
-- replicas share sessions and a copy of the database signs nobody in.
CREATE TABLE portal_sessions (
    id_sha256 TEXT PRIMARY KEY NOT NULL,
    principal TEXT NOT NULL,
    -- The session's CSRF token, sent back by every form.
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);
