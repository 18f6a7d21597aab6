-- How far the engine has read an append-only table (duty_events), so that
-- each event is acted on once across restarts and instances.
CREATE TABLE engine_cursors (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO engine_cursors (name, value) VALUES ('duty_events', 0);

-- The tier a duty event is about (1, 2, …; 0 for the manager).
ALTER TABLE duty_events ADD COLUMN tier BIGINT NOT NULL DEFAULT 1;
