package outbound

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

// Service manages the outbound webhooks of teams. Callers check that the
// user is an admin of the team; every method is scoped to one team, and a
// webhook of another team is not found.
type Service struct {
	db       *store.DB
	box      *seal.Box
	clock    clock.Clock
	opt      Options
	resolver Resolver
}

// NewService returns a Service.
func NewService(db *store.DB, box *seal.Box, c clock.Clock, opt Options) *Service {
	r := opt.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return &Service{db: db, box: box, clock: c, opt: opt, resolver: r}
}

// sealContext binds a sealed secret to its row.
func sealContext(id string) string { return "team_webhooks/" + id }

// newSecret returns 256 random bits, base64url without padding. The text
// itself, not its decoded bytes, is the HMAC key.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

const webhookCols = `id, team_id, url, events, enabled, created_at, last_status, last_error, last_at`

func scanWebhook(row interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	var events string
	var created int64
	var last *int64
	if err := row.Scan(&w.ID, &w.TeamID, &w.URL, &events, &w.Enabled, &created, &w.LastStatus, &w.LastError, &last); err != nil {
		return Webhook{}, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return Webhook{}, fmt.Errorf("webhook %s has unreadable events %q: %w", w.ID, events, err)
	}
	if w.Events == nil {
		w.Events = []int{}
	}
	w.CreatedAt, w.LastAt = store.FromMicros(created), store.OptTime(last)
	return w, nil
}

func notFound(id string) error {
	return apperr.New(apperr.NotFound, "outbound webhook %s not found", id)
}

// Create registers a webhook for the team and returns it with its signing
// secret, which is not shown again.
func (s *Service) Create(ctx context.Context, teamID, rawURL string, events []int) (Webhook, string, error) {
	u, err := s.checkURL(ctx, rawURL)
	if err != nil {
		return Webhook{}, "", err
	}
	if events, err = checkEvents(events); err != nil {
		return Webhook{}, "", err
	}
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM teams WHERE id = ?`, teamID).Scan(&n); err != nil {
		return Webhook{}, "", fmt.Errorf("find team: %w", err)
	}
	if n == 0 {
		return Webhook{}, "", apperr.New(apperr.NotFound, "team %s not found", teamID)
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM team_webhooks WHERE team_id = ?`, teamID).Scan(&n); err != nil {
		return Webhook{}, "", fmt.Errorf("count webhooks: %w", err)
	}
	if n >= maxWebhooksOfTeam {
		return Webhook{}, "", apperr.New(apperr.Conflict, "a team can have at most %d outbound webhooks; delete one first", maxWebhooksOfTeam)
	}
	now := s.clock.Now()
	w := Webhook{ID: store.NewID(), TeamID: teamID, URL: u, Events: events, Enabled: true, CreatedAt: now}
	secret := newSecret()
	ev, _ := json.Marshal(events)
	_, err = s.db.Exec(ctx, `INSERT INTO team_webhooks (id, team_id, url, secret, events, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		w.ID, teamID, u, s.box.Seal([]byte(secret), sealContext(w.ID)), string(ev), true, store.Micros(now))
	if err != nil {
		return Webhook{}, "", fmt.Errorf("create outbound webhook: %w", err)
	}
	return w, secret, nil
}

// List returns the team's webhooks, oldest first.
func (s *Service) List(ctx context.Context, teamID string) ([]Webhook, error) {
	rows, err := s.db.Query(ctx, `SELECT `+webhookCols+` FROM team_webhooks WHERE team_id = ? ORDER BY created_at, id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list outbound webhooks: %w", err)
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Get returns one webhook of the team.
func (s *Service) Get(ctx context.Context, teamID, id string) (Webhook, error) {
	w, err := scanWebhook(s.db.QueryRow(ctx, `SELECT `+webhookCols+` FROM team_webhooks WHERE id = ? AND team_id = ?`, id, teamID))
	if errors.Is(err, sql.ErrNoRows) {
		return Webhook{}, notFound(id)
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("read outbound webhook: %w", err)
	}
	return w, nil
}

// Update turns a webhook on or off and changes its event types; nil
// leaves a field as it is. Events already queued for a webhook that is
// turned off are not sent.
func (s *Service) Update(ctx context.Context, teamID, id string, enabled *bool, events *[]int) (Webhook, error) {
	var evJSON string
	if events != nil {
		ev, err := checkEvents(*events)
		if err != nil {
			return Webhook{}, err
		}
		b, _ := json.Marshal(ev)
		evJSON = string(b)
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if events != nil {
			if err := exec(ctx, tx, id, `UPDATE team_webhooks SET events = ? WHERE id = ? AND team_id = ?`, evJSON, id, teamID); err != nil {
				return err
			}
		}
		if enabled != nil {
			return exec(ctx, tx, id, `UPDATE team_webhooks SET enabled = ? WHERE id = ? AND team_id = ?`, *enabled, id, teamID)
		}
		return nil
	})
	if err != nil {
		return Webhook{}, err
	}
	return s.Get(ctx, teamID, id)
}

// exec runs a statement that must change the one webhook id.
func exec(ctx context.Context, q store.Q, id, stmt string, args ...any) error {
	res, err := q.Exec(ctx, stmt, args...)
	if err != nil {
		return fmt.Errorf("change outbound webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(id)
	}
	return nil
}

// Delete removes a webhook and its queued and past deliveries.
func (s *Service) Delete(ctx context.Context, teamID, id string) error {
	return exec(ctx, s.db, id, `DELETE FROM team_webhooks WHERE id = ? AND team_id = ?`, id, teamID)
}

// RotateSecret gives the webhook a new signing secret and returns it; it
// is not shown again. Deliveries from now on, retries included, are
// signed with the new secret only.
func (s *Service) RotateSecret(ctx context.Context, teamID, id string) (string, error) {
	secret := newSecret()
	err := exec(ctx, s.db, id, `UPDATE team_webhooks SET secret = ? WHERE id = ? AND team_id = ?`, s.box.Seal([]byte(secret), sealContext(id)), id, teamID)
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Deliveries lists the webhook's most recent deliveries, newest first:
// limit ≤ 0 is 50, and at most 500 are returned.
func (s *Service) Deliveries(ctx context.Context, teamID, id string, limit int) ([]Delivery, error) {
	if _, err := s.Get(ctx, teamID, id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := s.db.Query(ctx, `SELECT source, source_id, event_type, created_at, status, due_at, attempts, last_error, sent_at
		FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, length(source_id) DESC, source_id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var created, due int64
		var sent *int64
		if err := rows.Scan(&d.Source, &d.SourceID, &d.EventType, &created, &d.Status, &due, &d.Attempts, &d.LastError, &sent); err != nil {
			return nil, fmt.Errorf("scan delivery: %w", err)
		}
		d.EventID = eventID(teamID, d.Source, d.SourceID)
		d.CreatedAt, d.SentAt = store.FromMicros(created), store.OptTime(sent)
		if d.Status == "pending" {
			next := store.FromMicros(due)
			d.NextAt = &next
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SendTest queues a test event (type 1) for the webhook, due now. It is
// sent even while the webhook is turned off, so that a receiver can be
// checked before it is turned on.
func (s *Service) SendTest(ctx context.Context, teamID, id string) (Delivery, error) {
	if _, err := s.Get(ctx, teamID, id); err != nil {
		return Delivery{}, err
	}
	now := s.clock.Now()
	d := Delivery{EventType: EventTest, Source: sourceTest, SourceID: store.NewID(), CreatedAt: now, Status: "pending", NextAt: &now}
	d.EventID = eventID(teamID, d.Source, d.SourceID)
	_, err := s.db.Exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, source, source_id, event_type, created_at, due_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, d.Source, d.SourceID, d.EventType, store.Micros(now), store.Micros(now))
	if err != nil {
		return Delivery{}, fmt.Errorf("queue test event: %w", err)
	}
	return d, nil
}
