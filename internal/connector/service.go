package connector

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

// Connector is a team's connector as administrators see it.
type Connector struct {
	ID          string          `json:"id"`
	TeamID      string          `json:"teamId"`
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Source      string          `json:"source"`
	Settings    json.RawMessage `json:"settings"`
	Enabled     bool            `json:"enabled"`
	PollSeconds int             `json:"pollSeconds"`
	Health      Health          `json:"health"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// Health is how a connector is doing, in plain words.
type Health struct {
	// Watermark is the newest change read: everything before it is in.
	Watermark     *time.Time `json:"watermark,omitempty"`
	LastPollAt    *time.Time `json:"lastPollAt,omitempty"`
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	LastErrorAt   *time.Time `json:"lastErrorAt,omitempty"`
	// LagSeconds is how long ago the source was last read successfully.
	LagSeconds     *float64 `json:"lagSeconds,omitempty"`
	Read           int64    `json:"read"`
	Created        int64    `json:"created"`
	Written        int64    `json:"written"`
	WriteErrors    int64    `json:"writeErrors"`
	LastWriteError string   `json:"lastWriteError,omitempty"`
	// PendingWrites are responders' actions not yet written back.
	PendingWrites int `json:"pendingWrites"`
}

// Service keeps connectors.
type Service struct {
	db    *store.DB
	box   *seal.Box
	clock clock.Clock
	kinds map[string]Kind

	// built keeps each connector's source while its settings stay the
	// same, so its sign-in (and cached tokens) outlive one poll.
	mu    sync.Mutex
	built map[string]builtSource
}

type builtSource struct {
	mode     string
	settings string // as stored: a change (even within one clock tick) rebuilds
	src      Source
}

// NewService returns the service for the kinds given.
func NewService(db *store.DB, box *seal.Box, c clock.Clock, kinds ...Kind) *Service {
	s := &Service{db: db, box: box, clock: c, kinds: map[string]Kind{}, built: map[string]builtSource{}}
	for _, k := range kinds {
		s.kinds[k.Name] = k
	}
	return s
}

// NewConnector is what an administrator sends to add a connector.
type NewConnector struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Source      string          `json:"source"`
	Settings    json.RawMessage `json:"settings"`
	Enabled     *bool           `json:"enabled"`
	PollSeconds int             `json:"pollSeconds"`
}

func sealContext(id string) string { return "connectors/" + id }

// check validates the parts every kind shares and builds the source, so
// wrong settings are refused when saved, with the reason.
func (s *Service) check(kind, source string, settings json.RawMessage, poll int) (Kind, error) {
	k, ok := s.kinds[kind]
	if !ok {
		names := make([]string, 0, len(s.kinds))
		for n := range s.kinds {
			names = append(names, n)
		}
		sort.Strings(names)
		return Kind{}, apperr.New(apperr.Invalid, "kind %q: use %s", kind, strings.Join(names, ", "))
	}
	known := false
	for _, m := range k.Sources {
		known = known || m == source
	}
	if !known {
		return Kind{}, apperr.New(apperr.Invalid, "source %q: use %s", source, strings.Join(k.Sources, ", "))
	}
	if poll < 1 || poll > 3600 {
		return Kind{}, apperr.New(apperr.Invalid, "pollSeconds must be from 1 to 3600")
	}
	if _, err := k.Build(source, settings); err != nil {
		return Kind{}, apperr.New(apperr.Invalid, "settings: %v", err)
	}
	return k, nil
}

// Create adds a connector to a team.
func (s *Service) Create(ctx context.Context, teamID string, n NewConnector) (Connector, error) {
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 100 {
		return Connector{}, apperr.New(apperr.Invalid, "name must have 1 to 100 characters")
	}
	if n.Kind == "" {
		n.Kind = "microsoft"
	}
	if n.PollSeconds == 0 {
		n.PollSeconds = 30
	}
	if len(n.Settings) == 0 {
		return Connector{}, apperr.New(apperr.Invalid, "settings are missing")
	}
	if k, ok := s.kinds[n.Kind]; ok {
		if p, masked := seal.HasMasked(n.Settings, k.Secrets); masked {
			return Connector{}, apperr.New(apperr.Invalid, "settings: %s holds the mask %q, not a secret: enter the secret itself", p, seal.Masked)
		}
	}
	if _, err := s.check(n.Kind, n.Source, n.Settings, n.PollSeconds); err != nil {
		return Connector{}, err
	}
	id, now := store.NewID(), store.Micros(s.clock.Now())
	enabled := n.Enabled == nil || *n.Enabled
	_, err := s.db.Exec(ctx, `INSERT INTO connectors (id, team_id, name, kind, source, settings, enabled, poll_seconds, next_poll_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, teamID, n.Name, n.Kind, n.Source, s.box.Seal(n.Settings, sealContext(id)), enabled, n.PollSeconds, now, now, now)
	if store.IsUniqueViolation(err) {
		return Connector{}, apperr.New(apperr.Conflict, "the team has a connector named %q already", n.Name)
	}
	if err != nil {
		return Connector{}, fmt.Errorf("insert connector: %w", err)
	}
	return s.Get(ctx, teamID, id)
}

// Patch changes a connector; settings merge with the stored secrets.
type Patch struct {
	Name        *string         `json:"name"`
	Settings    json.RawMessage `json:"settings"`
	Enabled     *bool           `json:"enabled"`
	PollSeconds *int            `json:"pollSeconds"`
}

// Update changes a connector.
func (s *Service) Update(ctx context.Context, teamID, id string, p Patch) (Connector, error) {
	cur, raw, err := s.load(ctx, teamID, id)
	if err != nil {
		return Connector{}, err
	}
	k := s.kinds[cur.Kind]
	if p.Name != nil {
		cur.Name = strings.TrimSpace(*p.Name)
		if cur.Name == "" || len(cur.Name) > 100 {
			return Connector{}, apperr.New(apperr.Invalid, "name must have 1 to 100 characters")
		}
	}
	if len(p.Settings) > 0 && string(p.Settings) != "null" {
		if raw, err = seal.KeepSecrets(p.Settings, raw, k.Secrets); err != nil {
			return Connector{}, apperr.New(apperr.Invalid, "settings must be a JSON object: %v", err)
		}
	}
	if p.Enabled != nil {
		cur.Enabled = *p.Enabled
	}
	if p.PollSeconds != nil {
		cur.PollSeconds = *p.PollSeconds
	}
	if _, err := s.check(cur.Kind, cur.Source, raw, cur.PollSeconds); err != nil {
		return Connector{}, err
	}
	now := store.Micros(s.clock.Now())
	_, err = s.db.Exec(ctx, `UPDATE connectors SET name = ?, settings = ?, enabled = ?, poll_seconds = ?, next_poll_at = ?, updated_at = ? WHERE id = ? AND team_id = ?`,
		cur.Name, s.box.Seal(raw, sealContext(id)), cur.Enabled, cur.PollSeconds, now, now, id, teamID)
	if store.IsUniqueViolation(err) {
		return Connector{}, apperr.New(apperr.Conflict, "the team has a connector named %q already", cur.Name)
	}
	if err != nil {
		return Connector{}, fmt.Errorf("update connector: %w", err)
	}
	return s.Get(ctx, teamID, id)
}

// Delete removes a connector. Its alerts stay; they are no longer linked.
func (s *Service) Delete(ctx context.Context, teamID, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM connectors WHERE id = ? AND team_id = ?`, id, teamID)
	if err != nil {
		return fmt.Errorf("delete connector: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "connector %s not found", id)
	}
	return nil
}

const connectorCols = `id, team_id, name, kind, source, settings, enabled, poll_seconds, watermark, last_poll_at, last_success_at, last_error, last_error_at,
	read_count, created_count, written_count, write_errors, last_write_error, created_at, updated_at,
	(SELECT COUNT(*) FROM connector_writebacks w WHERE w.connector_id = connectors.id AND w.status IN ('pending', 'sending'))`

// scan reads a connector row; raw is its settings, unsealed.
func (s *Service) scan(r interface{ Scan(...any) error }) (Connector, json.RawMessage, error) {
	var c Connector
	var sealed string
	var wm, lp, ls, le *int64
	var created, updated int64
	h := &c.Health
	if err := r.Scan(&c.ID, &c.TeamID, &c.Name, &c.Kind, &c.Source, &sealed, &c.Enabled, &c.PollSeconds, &wm, &lp, &ls, &h.LastError, &le,
		&h.Read, &h.Created, &h.Written, &h.WriteErrors, &h.LastWriteError, &created, &updated, &h.PendingWrites); err != nil {
		return Connector{}, nil, err
	}
	raw, err := s.box.Open(sealed, sealContext(c.ID))
	if err != nil {
		return Connector{}, nil, fmt.Errorf("connector %s settings: %w", c.ID, err)
	}
	h.Watermark, h.LastPollAt, h.LastSuccessAt, h.LastErrorAt = store.OptTime(wm), store.OptTime(lp), store.OptTime(ls), store.OptTime(le)
	if h.LastSuccessAt != nil {
		lag := s.clock.Now().Sub(*h.LastSuccessAt).Seconds()
		h.LagSeconds = &lag
	}
	c.CreatedAt, c.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	c.Settings = seal.MaskJSON(raw, s.kinds[c.Kind].Secrets)
	return c, raw, nil
}

func (s *Service) load(ctx context.Context, teamID, id string) (Connector, json.RawMessage, error) {
	c, raw, err := s.scan(s.db.QueryRow(ctx, `SELECT `+connectorCols+` FROM connectors WHERE id = ? AND team_id = ?`, id, teamID))
	if errors.Is(err, sql.ErrNoRows) {
		return Connector{}, nil, apperr.New(apperr.NotFound, "connector %s not found", id)
	}
	return c, raw, err
}

// Get returns a team's connector, secrets masked.
func (s *Service) Get(ctx context.Context, teamID, id string) (Connector, error) {
	c, _, err := s.load(ctx, teamID, id)
	return c, err
}

// List returns a team's connectors.
func (s *Service) List(ctx context.Context, teamID string) ([]Connector, error) {
	rows, err := s.db.Query(ctx, `SELECT `+connectorCols+` FROM connectors WHERE team_id = ? ORDER BY name`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	defer rows.Close()
	out := []Connector{}
	for rows.Next() {
		c, _, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Source builds the connector's source from its stored settings.
func (s *Service) Source(ctx context.Context, teamID, id string) (Connector, Source, error) {
	c, raw, err := s.load(ctx, teamID, id)
	if err != nil {
		return Connector{}, nil, err
	}
	s.mu.Lock()
	b, ok := s.built[id]
	s.mu.Unlock()
	if ok && b.mode == c.Source && b.settings == string(raw) {
		return c, b.src, nil
	}
	src, err := s.kinds[c.Kind].Build(c.Source, raw)
	if err != nil {
		return Connector{}, nil, apperr.New(apperr.Invalid, "settings: %v", err)
	}
	s.mu.Lock()
	s.built[id] = builtSource{mode: c.Source, settings: string(raw), src: src}
	s.mu.Unlock()
	return c, src, nil
}

// Test checks the connection and permissions of a stored connector.
func (s *Service) Test(ctx context.Context, teamID, id string) ([]Check, error) {
	_, src, err := s.Source(ctx, teamID, id)
	if err != nil {
		return nil, err
	}
	return src.Check(ctx), nil
}

// PollNow makes the connector poll at the next chance.
func (s *Service) PollNow(ctx context.Context, teamID, id string) error {
	res, err := s.db.Exec(ctx, `UPDATE connectors SET next_poll_at = ? WHERE id = ? AND team_id = ?`, store.Micros(s.clock.Now()), id, teamID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "connector %s not found", id)
	}
	return nil
}
