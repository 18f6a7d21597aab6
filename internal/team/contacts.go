package team

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// ContactMethod is a member's address on one channel.
type ContactMethod struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Channel   string    `json:"channel"`
	Address   string    `json:"address"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"createdAt"`
	// Verified is false until the member confirms the code sent to the
	// address (SMS, voice, email); until then nothing else is sent there.
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	// OptedOutAt is when the number replied STOP.
	OptedOutAt *time.Time `json:"optedOutAt,omitempty"`
}

// NeedsVerification reports whether addresses on channel must be verified
// before use: those that reach a person directly, where a typo would wake
// a stranger. Push subscriptions prove themselves; chat and webhook URLs
// are checked by a test message.
func NeedsVerification(channel string) bool {
	return channel == "sms" || channel == "voice" || channel == "email"
}

// Channels a contact method can use.
var channels = []string{"push", "ntfy", "sms", "voice", "email", "teams", "slack", "webhook"}

// normalizeAddress validates an address for its channel and returns its
// canonical form.
func normalizeAddress(channel, addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", apperr.New(apperr.Invalid, "address must not be empty")
	}
	switch channel {
	case "sms", "voice":
		return normalizePhone(addr)
	case "email":
		a, err := mail.ParseAddress(addr)
		if err != nil {
			return "", apperr.New(apperr.Invalid, "email address %q is not valid", addr)
		}
		return strings.ToLower(a.Address), nil
	case "ntfy", "teams", "slack", "webhook":
		if channel == "ntfy" && !strings.Contains(addr, "/") {
			return addr, nil // a bare topic on the configured ntfy server
		}
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", apperr.New(apperr.Invalid, "%s address must be an http(s) URL", channel)
		}
		return addr, nil
	case "push":
		return addr, nil
	}
	return "", apperr.New(apperr.Invalid, "channel %q: use one of %s", channel, strings.Join(channels, ", "))
}

// normalizePhone turns a phone number written with spaces, dashes, dots or
// brackets into E.164. Numbers must carry their country code.
func normalizePhone(s string) (string, error) {
	orig := s
	// "+49 (0)151 …" writes the national trunk prefix in brackets; it is not
	// dialled from abroad and is not part of the E.164 number.
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "+") || strings.HasPrefix(t, "00") {
		s = strings.Replace(s, "(0)", "", 1)
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return "", apperr.New(apperr.Invalid, "phone number %q has an unexpected character %q", orig, r)
		}
	}
	digits := b.String()
	if strings.HasPrefix(s, "00") && !strings.HasPrefix(s, "+") {
		digits = digits[2:]
	} else if !strings.HasPrefix(s, "+") {
		return "", apperr.New(apperr.Invalid, "phone number %q must start with + and the country code (E.164, e.g. +4915112345678)", orig)
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", apperr.New(apperr.Invalid, "phone number %q is not a valid E.164 number (8 to 15 digits after +, no leading 0)", orig)
	}
	return "+" + digits, nil
}

// AddContactMethod stores an address for the user.
func (s *Service) AddContactMethod(ctx context.Context, userID, channel, address, label string) (ContactMethod, error) {
	channel = strings.ToLower(strings.TrimSpace(channel))
	addr, err := normalizeAddress(channel, address)
	if err != nil {
		return ContactMethod{}, err
	}
	if _, err := s.User(ctx, userID); err != nil {
		return ContactMethod{}, err
	}
	c := ContactMethod{ID: store.NewID(), UserID: userID, Channel: channel, Address: addr, Label: strings.TrimSpace(label), CreatedAt: s.clock.Now()}
	var verified *int64
	if !NeedsVerification(channel) {
		v := store.Micros(c.CreatedAt)
		verified, c.Verified, c.VerifiedAt = &v, true, &c.CreatedAt
	}
	_, err = s.db.Exec(ctx, `INSERT INTO contact_methods (id, user_id, channel, address, label, created_at, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Channel, c.Address, c.Label, store.Micros(c.CreatedAt), verified)
	if store.IsUniqueViolation(err) {
		return ContactMethod{}, apperr.New(apperr.Conflict, "this %s address is already stored", channel)
	}
	if err != nil {
		return ContactMethod{}, fmt.Errorf("insert contact method: %w", err)
	}
	return c, nil
}

// ContactMethods lists the user's addresses.
func (s *Service) ContactMethods(ctx context.Context, userID string) ([]ContactMethod, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+contactColumns+` FROM contact_methods WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("list contact methods: %w", err)
	}
	defer rows.Close()
	out := []ContactMethod{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteContactMethod removes one of the user's addresses.
func (s *Service) DeleteContactMethod(ctx context.Context, userID, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM contact_methods WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete contact method: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "contact method %s not found", id)
	}
	return nil
}

const contactColumns = `id, user_id, channel, address, label, created_at, verified_at, opted_out_at`

func scanContact(r interface{ Scan(...any) error }) (ContactMethod, error) {
	var c ContactMethod
	var created int64
	var verified, opted *int64
	if err := r.Scan(&c.ID, &c.UserID, &c.Channel, &c.Address, &c.Label, &created, &verified, &opted); err != nil {
		return ContactMethod{}, fmt.Errorf("scan contact method: %w", err)
	}
	c.CreatedAt = store.FromMicros(created)
	c.VerifiedAt, c.OptedOutAt = store.OptTime(verified), store.OptTime(opted)
	c.Verified = c.VerifiedAt != nil
	return c, nil
}

// ContactMethod returns one of the user's addresses.
func (s *Service) ContactMethod(ctx context.Context, userID, id string) (ContactMethod, error) {
	c, err := scanContact(s.db.QueryRow(ctx, `SELECT `+contactColumns+` FROM contact_methods WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return ContactMethod{}, apperr.New(apperr.NotFound, "contact method %s not found", id)
	}
	return c, err
}
