-- Channels: provider settings, server keys, action tokens, SMS reply codes,
-- contact method verification and opt-out, delivery reports, and the
-- SIGNL4-compatible outbound webhooks.

-- Key material shared by every instance (VAPID keys, the action token
-- key), sealed with the server's encryption key.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One settings document per provider (push, ntfy, twilio, email, slack,
-- teams, webhook), sealed: it holds credentials.
CREATE TABLE channel_settings (
    provider   TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    status     TEXT NOT NULL DEFAULT 'unchecked' CHECK (status IN ('unchecked', 'ok', 'failing')),
    last_error TEXT NOT NULL DEFAULT '',
    checked_at BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- Action tokens are single-use: a token's id is stored when it is redeemed.
CREATE TABLE used_tokens (
    id         TEXT PRIMARY KEY,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_tokens_expiry ON used_tokens(expires_at);

-- Short codes that name an alert in SMS replies from one phone number,
-- kept while the alert is open (GoAlert's scheme: "3a" acknowledges).
CREATE TABLE reply_codes (
    address    TEXT NOT NULL,
    code       INTEGER NOT NULL,
    alert_id   TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (address, code)
);
CREATE UNIQUE INDEX reply_codes_alert ON reply_codes(address, alert_id);

-- Contact methods are verified before use; a number that sent STOP is
-- opted out until it sends START.
ALTER TABLE contact_methods ADD COLUMN verified_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN opted_out_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN verify_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE contact_methods ADD COLUMN verify_expires_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN verify_attempts INTEGER NOT NULL DEFAULT 0;
-- Methods stored before verification existed were in use: keep them so.
UPDATE contact_methods SET verified_at = created_at;
CREATE INDEX contact_methods_address ON contact_methods(channel, address);

-- What the provider reported after accepting a message, and which message
-- carried a notification that was bundled with others.
ALTER TABLE notifications ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN delivery_at BIGINT;
ALTER TABLE notifications ADD COLUMN bundled_into TEXT NOT NULL DEFAULT '';
-- Set when the alert's status changes after a chat message showing it was
-- sent, so the engine updates that message (and only then looks).
ALTER TABLE notifications ADD COLUMN update_due BIGINT;
CREATE INDEX notifications_update_due ON notifications(update_due) WHERE update_due IS NOT NULL;
CREATE INDEX notifications_provider ON notifications(channel, provider_id);
-- Delivery reports that arrived before the message's provider id was
-- recorded (a fast provider calls back while the engine still records
-- the send): applied once the id is stored, never dropped.
CREATE TABLE early_deliveries (
    channel     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    PRIMARY KEY (provider_id, channel, status) -- looked up by provider id
);
CREATE INDEX notifications_address ON notifications(address, sent_at);

-- SIGNL4-compatible outbound webhooks of a team.
CREATE TABLE team_webhooks (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,                    -- sealed
    events     TEXT NOT NULL DEFAULT '[]',       -- JSON array of event types; empty: all
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    last_status TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    last_at    BIGINT
);
CREATE INDEX team_webhooks_team ON team_webhooks(team_id);

-- The outbox: one row per (webhook, event), written by triggers in the
-- transaction that records the event, so no event is lost between the
-- change and its delivery. source is 'timeline', 'duty' or 'test'.
CREATE TABLE webhook_deliveries (
    webhook_id  TEXT NOT NULL REFERENCES team_webhooks(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    event_type  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    due_at      BIGINT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT NOT NULL DEFAULT '',
    claimed_at  BIGINT,
    last_error  TEXT NOT NULL DEFAULT '',
    sent_at     BIGINT,
    PRIMARY KEY (webhook_id, source, source_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, due_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, created_at);

CREATE FUNCTION webhook_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, source, source_id, event_type, created_at, due_at)
    SELECT w.id, 'timeline', NEW.id::text,
           CASE NEW.kind WHEN 'created' THEN 200 WHEN 'escalated' THEN 202 WHEN 'annotated' THEN 203 ELSE 201 END,
           NEW.at, NEW.at
    FROM team_webhooks w JOIN alerts a ON a.team_id = w.team_id
    WHERE a.id = NEW.alert_id AND w.enabled;
    RETURN NULL;
END $$;
-- WHEN keeps the function from running at all for the many timeline rows
-- no webhook is about (notified, planned, …).
CREATE TRIGGER webhook_timeline AFTER INSERT ON timeline FOR EACH ROW
    WHEN (NEW.kind IN ('created', 'acknowledged', 'unacknowledged', 'closed', 'reopened', 'escalated', 'annotated'))
    EXECUTE FUNCTION webhook_timeline();

CREATE FUNCTION webhook_duty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, source, source_id, event_type, created_at, due_at)
    SELECT w.id, 'duty', NEW.id::text,
           CASE NEW.kind WHEN 'duty_started' THEN 300 WHEN 'duty_ended' THEN 301 WHEN 'punched_in' THEN 302 ELSE 303 END,
           NEW.at, NEW.at
    FROM team_webhooks w
    WHERE w.team_id = NEW.team_id AND w.enabled;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_duty AFTER INSERT ON duty_events FOR EACH ROW EXECUTE FUNCTION webhook_duty();
