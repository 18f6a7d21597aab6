-- How far the engine has read an append-only table (duty_events), so that
-- each event is acted on once across restarts and instances.
CREATE TABLE engine_cursors (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO engine_cursors (name, value) VALUES ('duty_events', 0);
