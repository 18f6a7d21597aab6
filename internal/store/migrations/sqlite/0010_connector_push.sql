-- Push: a Sentinel automation rule (through a Logic App) tells lastmile of a
-- new incident at once, at a per-connector secret URL. Only the secret's
-- SHA-256 is kept: it is shown once, when made or rotated. The counters
-- are the push side of the connector's health.
CREATE TABLE connector_push (
    connector_id  TEXT PRIMARY KEY REFERENCES connectors(id) ON DELETE CASCADE,
    secret_hash   BLOB NOT NULL UNIQUE,
    secret_prefix TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    push_count    INTEGER NOT NULL DEFAULT 0,
    last_push_at  INTEGER,
    last_result   TEXT NOT NULL DEFAULT '',      -- created, exists, ignored, queued
    last_note     TEXT NOT NULL DEFAULT ''       -- why it was queued or ignored
);
