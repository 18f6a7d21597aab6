-- Times are Unix microseconds in both dialects, so ordering and arithmetic
-- are the same everywhere and no driver converts time zones behind our back.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- stored lower case
    name          TEXT NOT NULL DEFAULT '',
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,    -- instance administrator
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

-- API keys are shown once; only a SHA-256 of the key is kept. Keys are 160
-- random bits, so a fast hash is enough and lookups by hash are constant-time
-- with respect to the key.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    key_hash     BYTEA NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_user ON api_keys(user_id);

-- The inbound secret is kept only as a hash for the same reason: it is shown
-- at creation and rotation, and anyone holding it can raise alerts.
CREATE TABLE teams (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    secret_hash      BYTEA NOT NULL UNIQUE,
    secret_prefix    TEXT NOT NULL,
    default_scenario TEXT NOT NULL DEFAULT 'single_ack',
    created_at       BIGINT NOT NULL
);

CREATE TABLE members (
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'responder')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE contact_methods (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL,
    address    TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, channel, address)
);

CREATE TABLE categories (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    color      TEXT NOT NULL DEFAULT '',
    keywords   TEXT NOT NULL DEFAULT '[]',       -- JSON array of strings
    match_all  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

-- Every inbound request for a known team is kept, whatever became of it, so
-- that nothing a sender was told was accepted can be lost and every rejected
-- input can be inspected.
CREATE TABLE events (
    id             TEXT COLLATE "C" PRIMARY KEY,             -- UUIDv7: ordered by time
    team_id        TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    received_at    BIGINT NOT NULL,
    source         TEXT NOT NULL,
    remote_addr    TEXT NOT NULL DEFAULT '',
    content_type   TEXT NOT NULL DEFAULT '',
    query          TEXT NOT NULL DEFAULT '',
    headers        TEXT NOT NULL DEFAULT '{}',
    body           BYTEA,
    body_truncated BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL CHECK (status IN ('created', 'updated', 'discarded', 'filtered', 'rejected')),
    reason         TEXT NOT NULL DEFAULT '',
    external_id    TEXT NOT NULL DEFAULT '',
    alert_id       TEXT,
    parsed         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_team ON events(team_id, id);
CREATE INDEX events_alert ON events(alert_id);

CREATE TABLE alerts (
    id              TEXT COLLATE "C" PRIMARY KEY,            -- UUIDv7: ordered by time
    team_id         TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'closed')),
    title           TEXT NOT NULL,
    text            TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL DEFAULT '',
    category        TEXT NOT NULL DEFAULT '',
    scenario        TEXT NOT NULL,
    external_id     TEXT,
    source_system   TEXT NOT NULL DEFAULT '',
    location        TEXT NOT NULL DEFAULT '',
    params          TEXT NOT NULL DEFAULT '[]',  -- JSON [{name, value}] in arrival order
    event_id        TEXT NOT NULL,
    event_count     BIGINT NOT NULL DEFAULT 1,
    acks_required   BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    closed_at       BIGINT,
    closed_by       TEXT NOT NULL DEFAULT ''
);
-- Deduplication is the database's job: at most one open alert per external id
-- and team, whatever the number of concurrent requests or instances.
CREATE UNIQUE INDEX alerts_open_external ON alerts(team_id, external_id)
    WHERE status <> 'closed' AND external_id IS NOT NULL;
CREATE INDEX alerts_team ON alerts(team_id, id);

CREATE TABLE timeline (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id   TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor_type TEXT NOT NULL,                    -- user, event, system
    actor_id   TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT '',
    event_id   TEXT
);
CREATE INDEX timeline_alert ON timeline(alert_id, id);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    alert_id     TEXT REFERENCES alerts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_alert ON attachments(alert_id);
CREATE INDEX attachments_event ON attachments(event_id);
