-- The web app: browser sessions, single sign-on identities and invitations.

-- A session cookie holds 256 random bits; only their SHA-256 is kept, so a
-- copy of the database signs no one in. The CSRF token is per session.
CREATE TABLE web_sessions (
    id_hash      BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    method       TEXT NOT NULL,                 -- password, oidc, invite
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);

-- Who an OpenID Connect subject is: the issuer's stable subject, not the
-- e-mail address, which an identity provider may let its users change.
CREATE TABLE oidc_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities(user_id);

-- An invitation lets a new member set a password once; only a hash of the
-- link's token is kept.
CREATE TABLE invites (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX invites_user ON invites(user_id);

-- Reports read a team's alerts by the time they were raised.
CREATE INDEX alerts_team_created ON alerts(team_id, created_at);

-- The inbox lists a team's open alerts by status and severity, newest
-- first, and counts them per status: this index answers both alone.
CREATE INDEX alerts_team_status ON alerts(team_id, status, severity, id);

-- Reports find each alert's acknowledgements among its timeline.
CREATE INDEX timeline_acknowledged ON timeline(alert_id, at) WHERE kind = 'acknowledged';

-- A muted category (maintenance mode): its alerts are recorded and shown,
-- but nobody is notified until this time.
ALTER TABLE categories ADD COLUMN muted_until INTEGER;
