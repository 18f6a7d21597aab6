-- multi_ack: who has acknowledged an alert that needs several
-- acknowledgements, and how many it has.
ALTER TABLE alerts ADD COLUMN acks_received INTEGER NOT NULL DEFAULT 0;

CREATE TABLE alert_acks (
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);

-- When an acknowledged but unclosed alert is notified again (team ack
-- timeout); NULL: never.
ALTER TABLE alert_engine ADD COLUMN ack_timeout_at INTEGER;
