-- Duty plans. Nothing here is ever rewritten into the past: changing a
-- rotation ends it now and starts a new one, and deleting a shift, override
-- or rotation that has begun only cuts it at the moment of the change, so
-- the history of who was on duty stays true for reports.

CREATE TABLE duty_shifts (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tier       BIGINT NOT NULL,                 -- 1, 2, 3 …; 0 = manager
    start_at   BIGINT NOT NULL,
    end_at     BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX duty_shifts_team ON duty_shifts(team_id, end_at);

CREATE TABLE rotations (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    tier         BIGINT NOT NULL,
    time_zone    TEXT NOT NULL,
    start_at     BIGINT NOT NULL,
    end_at       BIGINT,                        -- NULL: no end
    length       BIGINT NOT NULL,
    unit         TEXT NOT NULL CHECK (unit IN ('hours', 'days', 'weeks')),
    participants TEXT NOT NULL,                  -- JSON array of user ids, in order
    created_at   BIGINT NOT NULL
);
CREATE INDEX rotations_team ON rotations(team_id);

CREATE TABLE duty_overrides (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    from_user  TEXT NOT NULL DEFAULT '',         -- '' adds to_user at tier
    to_user    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tier       BIGINT NOT NULL DEFAULT 1,
    start_at   BIGINT NOT NULL,
    end_at     BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX duty_overrides_team ON duty_overrides(team_id, end_at);

CREATE TABLE punches (
    id       TEXT PRIMARY KEY,
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    manager  BOOLEAN NOT NULL DEFAULT FALSE,
    start_at BIGINT NOT NULL,
    end_at   BIGINT                             -- NULL while punched in
);
-- One open punch per member and team: punching in twice is a no-op.
CREATE UNIQUE INDEX punches_open ON punches(team_id, user_id) WHERE end_at IS NULL;
CREATE INDEX punches_team ON punches(team_id, start_at);

-- Duty changes for the outbound webhooks of a later issue (300–303).
CREATE TABLE duty_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('duty_started', 'duty_ended', 'punched_in', 'punched_out')),
    user_id TEXT NOT NULL,
    manager BOOLEAN NOT NULL DEFAULT FALSE,
    at      BIGINT NOT NULL
);
CREATE INDEX duty_events_team ON duty_events(team_id, id);
