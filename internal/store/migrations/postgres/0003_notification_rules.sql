-- How a team alerts: target response time before escalating, persistent
-- notification (repeat every N seconds, at most M times) and the ack timeout
-- after which an acknowledged but unclosed alert is notified again. Zero
-- turns each off.
ALTER TABLE teams ADD COLUMN target_response_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN repeat_every_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN repeat_limit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN ack_timeout_seconds BIGINT NOT NULL DEFAULT 0;

-- A team's default rules name channels; a member's own rules name their
-- contact methods and replace the team's for that member.
CREATE TABLE team_notification_rules (
    team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    channel       TEXT NOT NULL,
    delay_seconds BIGINT NOT NULL,
    PRIMARY KEY (team_id, position)
);

CREATE TABLE user_notification_rules (
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position          BIGINT NOT NULL,
    contact_method_id TEXT NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    delay_seconds     BIGINT NOT NULL,
    PRIMARY KEY (user_id, position)
);
