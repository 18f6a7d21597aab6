-- The engine's durable state. A new alert gets its alert_engine row in the
-- same transaction that opens it, so no alert can be opened and then
-- forgotten by a crash; the engine plans its notifications from there.

CREATE TABLE alert_engine (
    alert_id           TEXT PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
    team_id            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('planning', 'active', 'done')),
    tier               INTEGER NOT NULL DEFAULT -2,  -- tier notified last; -1 the whole team
    level_started_at   INTEGER,
    next_escalation_at INTEGER,                      -- NULL: nothing pending
    updated_at         INTEGER NOT NULL
);
CREATE INDEX alert_engine_state ON alert_engine(state, next_escalation_at);

-- One row per message to send: the plan, and then its delivery status.
CREATE TABLE notifications (
    id                TEXT PRIMARY KEY,
    alert_id          TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    team_id           TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    contact_method_id TEXT NOT NULL DEFAULT '',
    channel           TEXT NOT NULL,
    address           TEXT NOT NULL,
    kind              TEXT NOT NULL,                 -- alert, repeat, escalation
    round             INTEGER NOT NULL,
    tier              INTEGER NOT NULL,
    due_at            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    provider_id       TEXT NOT NULL DEFAULT '',
    claimed_by        TEXT NOT NULL DEFAULT '',
    claimed_at        INTEGER,
    sent_at           INTEGER,
    created_at        INTEGER NOT NULL,
    -- The same step is planned once, whoever plans it.
    dedup_key         TEXT NOT NULL UNIQUE
);
CREATE INDEX notifications_due ON notifications(status, due_at);
CREATE INDEX notifications_alert ON notifications(alert_id);
