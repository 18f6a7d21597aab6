-- Connectors: a team's link to a source of security incidents (Microsoft
-- Sentinel, Microsoft Graph security), what each incident became, and the
-- outbox of what responders did, to write back.

CREATE TABLE connectors (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,                  -- microsoft
    source          TEXT NOT NULL,                  -- sentinel, graph_incidents, graph_alerts, graph_legacy
    settings        TEXT NOT NULL,                  -- sealed JSON: credentials and options
    enabled         BOOLEAN NOT NULL DEFAULT 1,
    poll_seconds    INTEGER NOT NULL DEFAULT 30,
    -- The newest last-modified time read: the next poll asks for changes
    -- since then, so nothing is missed after downtime.
    watermark       INTEGER,
    next_poll_at    INTEGER NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   INTEGER,
    last_poll_at    INTEGER,
    last_success_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    last_error_at   INTEGER,
    read_count      INTEGER NOT NULL DEFAULT 0,
    created_count   INTEGER NOT NULL DEFAULT 0,
    written_count   INTEGER NOT NULL DEFAULT 0,
    write_errors    INTEGER NOT NULL DEFAULT 0,
    last_write_error TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (team_id, name)
);
CREATE INDEX connectors_due ON connectors(enabled, next_poll_at);

-- Which alert each incident (or Graph alert) became.
CREATE TABLE connector_items (
    connector_id  TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    alert_id      TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    remote_status TEXT NOT NULL DEFAULT '',
    remote_owner  TEXT NOT NULL DEFAULT '',
    -- The incident a Graph alert belongs to: it is set Active or Closed
    -- once every alert of it lastmile holds is acknowledged or closed.
    group_id      TEXT NOT NULL DEFAULT '',
    last_modified INTEGER,                          -- as Microsoft last reported it
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (connector_id, external_id)
);
CREATE INDEX connector_items_alert ON connector_items(alert_id);
CREATE INDEX connector_items_group ON connector_items(connector_id, group_id);

-- What each group (the Graph incident of alerts) was last told, so that
-- alerts catching up together tell it once.
CREATE TABLE connector_groups (
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    group_id     TEXT NOT NULL,
    told         TEXT NOT NULL,
    PRIMARY KEY (connector_id, group_id)
);

-- The outbox: one row per timeline entry of a linked alert to write back
-- (status, owner, comments) or to log (lifecycle records), written by a
-- trigger in the transaction of the change, so nothing is lost between a
-- responder's action and its write-back.
CREATE TABLE connector_writebacks (
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    timeline_id  INTEGER NOT NULL,
    alert_id     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    -- The change reached the source; a retry only redoes the log record.
    applied      BOOLEAN NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER NOT NULL,
    claimed_by   TEXT NOT NULL DEFAULT '',
    claimed_at   INTEGER,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    PRIMARY KEY (connector_id, timeline_id)
);
CREATE INDEX connector_writebacks_due ON connector_writebacks(status, due_at);

CREATE TRIGGER connector_timeline AFTER INSERT ON timeline
WHEN NEW.kind IN ('created', 'acknowledged', 'unacknowledged', 'closed', 'reopened', 'annotated', 'escalated', 'notified')
BEGIN
    INSERT INTO connector_writebacks (connector_id, timeline_id, alert_id, external_id, kind, due_at, created_at)
    SELECT i.connector_id, NEW.id, NEW.alert_id, i.external_id, NEW.kind, NEW.at, NEW.at
    FROM connector_items i WHERE i.alert_id = NEW.alert_id;
END;
