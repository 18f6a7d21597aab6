-- Push: a Sentinel automation rule (through a Logic App) tells lastmile of a
-- new incident at once, at a per-connector secret URL. Only the secret's
-- SHA-256 is kept: it is shown once, when made or rotated. The counters
-- are the push side of the connector's health.
CREATE TABLE connector_push (
    connector_id  TEXT PRIMARY KEY REFERENCES connectors(id) ON DELETE CASCADE,
    secret_hash   BYTEA NOT NULL UNIQUE,
    secret_prefix TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    push_count    BIGINT NOT NULL DEFAULT 0,
    last_push_at  BIGINT,
    last_result   TEXT NOT NULL DEFAULT '',      -- created, exists, ignored, queued
    last_note     TEXT NOT NULL DEFAULT ''       -- why it was queued or ignored
);
