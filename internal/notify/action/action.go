// Package action issues and checks the tokens behind the buttons and links
// in notifications (email links, ntfy and push actions, chat buttons): each
// names one action on one alert for one member, is signed with the
// server's key, expires, and works once.
package action

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
)

// Lifetime is how long a token works: long enough for an email read the
// next morning, short enough that an old message cannot act on a reopened
// alert weeks later.
const Lifetime = 24 * time.Hour

// Actions a token may carry.
const (
	Acknowledge = "acknowledge"
	Close       = "close"
	Escalate    = "escalate"
)

// Errors a token can fail with; each says what to do in plain words.
var (
	ErrInvalid = errors.New("this link is not valid (it was changed or is not from this server)")
	ErrExpired = errors.New("this link has expired; open the alert in lastmile instead")
	ErrUsed    = errors.New("this link was already used")
)

// Claims are what a token says.
type Claims struct {
	ID             string    `json:"j"`
	NotificationID string    `json:"n,omitempty"`
	AlertID        string    `json:"a"`
	UserID         string    `json:"u"`
	Action         string    `json:"x"`
	Expires        time.Time `json:"-"`
	Exp            int64     `json:"e"`
}

// Tokens issues, checks and spends tokens.
type Tokens struct {
	key   []byte
	db    *store.DB
	clock clock.Clock
}

// New loads (or, on the first start, creates) the signing key.
func New(ctx context.Context, keys notify.Keys, db *store.DB, c clock.Clock) (*Tokens, error) {
	key, err := keys.GetOrCreate(ctx, "action-tokens", func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("action token key: %w", err)
	}
	return &Tokens{key: key, db: db, clock: c}, nil
}

// Issue returns a token for c, expiring Lifetime from now.
func (t *Tokens) Issue(c Claims) string {
	var id [12]byte
	rand.Read(id[:])
	c.ID = base64.RawURLEncoding.EncodeToString(id[:])
	c.Exp = t.clock.Now().Add(Lifetime).Unix()
	body, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.mac(p))
}

func (t *Tokens) mac(payload string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("lastmile action " + payload))
	return m.Sum(nil)
}

// Parse checks a token's signature and expiry, without spending it.
func (t *Tokens) Parse(token string) (Claims, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 {
		return Claims{}, ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac(p)) {
		return Claims{}, ErrInvalid
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil || c.ID == "" || c.AlertID == "" {
		return Claims{}, ErrInvalid
	}
	c.Expires = time.Unix(c.Exp, 0).UTC()
	if !t.clock.Now().Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	switch c.Action {
	case Acknowledge, Close, Escalate:
	default:
		return Claims{}, ErrInvalid
	}
	return c, nil
}

// Spend marks a token used. It fails with ErrUsed the second time, on
// every instance.
func (t *Tokens) Spend(ctx context.Context, c Claims) error {
	_, err := t.db.Exec(ctx, `INSERT INTO used_tokens (id, used_at, expires_at) VALUES (?, ?, ?)`, c.ID, store.Micros(t.clock.Now()), store.Micros(c.Expires))
	if store.IsUniqueViolation(err) {
		return ErrUsed
	}
	if err != nil {
		return fmt.Errorf("spend token: %w", err)
	}
	return nil
}

// Unspend gives a token back when its action failed for a reason that was
// not the member's (the database was briefly unavailable).
func (t *Tokens) Unspend(ctx context.Context, c Claims) error {
	_, err := t.db.Exec(ctx, `DELETE FROM used_tokens WHERE id = ?`, c.ID)
	return err
}

// Purge forgets spent tokens that have expired anyway.
func (t *Tokens) Purge(ctx context.Context) error {
	_, err := t.db.Exec(ctx, `DELETE FROM used_tokens WHERE expires_at < ?`, store.Micros(t.clock.Now()))
	return err
}

// Used reports whether a token was spent already.
func (t *Tokens) Used(ctx context.Context, c Claims) (bool, error) {
	var n int
	if err := t.db.QueryRow(ctx, `SELECT COUNT(*) FROM used_tokens WHERE id = ?`, c.ID).Scan(&n); err != nil {
		return false, fmt.Errorf("read token: %w", err)
	}
	return n > 0, nil
}

// Issuer adapts Tokens to the engine's signing of message actions.
type Issuer struct{ *Tokens }

// Issue signs action on alertID for the recipient of a notification.
func (i Issuer) Issue(notificationID, alertID, userID, act string) string {
	return i.Tokens.Issue(Claims{NotificationID: notificationID, AlertID: alertID, UserID: userID, Action: act})
}
