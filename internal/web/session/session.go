// Package session keeps the web app's sign-in sessions: a random cookie
// value whose hash is stored with the user, a CSRF token, and an expiry that
// slides while the session is used.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
)

const (
	// Idle is how long a session lasts without being used. Responders are
	// paged at night weeks apart: a short idle timeout would make them sign
	// in again while an alert waits, so it is long, and logout everywhere
	// ends every session at once.
	Idle = 30 * 24 * time.Hour
	// Max bounds a session's life however often it is used.
	Max = 90 * 24 * time.Hour
	// touchEvery bounds how often use is written back, so that every page
	// view is not a write.
	touchEvery = 10 * time.Minute
)

// Session is one signed-in browser.
type Session struct {
	ID        string // the cookie value; only its hash is stored
	UserID    string
	CSRF      string
	Method    string
	UserAgent string
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time
}

// Store keeps sessions in the database.
type Store struct {
	db    *store.DB
	clock clock.Clock
	// Secure marks cookies Secure and gives them the __Host- prefix; it is
	// set when the base URL is https.
	secure bool
}

// New returns a Store. secure is whether the app is served over https.
func New(db *store.DB, c clock.Clock, secure bool) *Store {
	return &Store{db: db, clock: c, secure: secure}
}

// CookieName is the session cookie's name: with the __Host- prefix over
// https, so that no subdomain can set or shadow it.
func (s *Store) CookieName() string {
	if s.secure {
		return "__Host-lastmile_session"
	}
	return "lastmile_session"
}

// NewToken returns 256 random bits, URL-safe: session ids, CSRF tokens,
// invitation links and sign-in state.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what is stored of a token: only its SHA-256, so that a copy
// of the database opens nothing.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Create starts a session for the user.
func (s *Store) Create(ctx context.Context, userID, method, userAgent string) (Session, error) {
	now := s.clock.Now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	ss := Session{ID: NewToken(), UserID: userID, CSRF: NewToken(), Method: method, UserAgent: userAgent, Created: now, LastSeen: now, Expires: now.Add(Idle)}
	_, err := s.db.Exec(ctx, `INSERT INTO web_sessions (id_hash, user_id, csrf, method, user_agent, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		HashToken(ss.ID), userID, ss.CSRF, method, userAgent, store.Micros(now), store.Micros(now), store.Micros(ss.Expires))
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return ss, nil
}

// Lookup returns the live session with that cookie value, sliding its
// expiry forward.
func (s *Store) Lookup(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 100 {
		return Session{}, apperr.New(apperr.Unauthorized, "not signed in")
	}
	var ss Session
	var created, seen, expires int64
	err := s.db.QueryRow(ctx, `SELECT user_id, csrf, method, user_agent, created_at, last_seen_at, expires_at FROM web_sessions WHERE id_hash = ?`, HashToken(id)).
		Scan(&ss.UserID, &ss.CSRF, &ss.Method, &ss.UserAgent, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, apperr.New(apperr.Unauthorized, "your session has ended; sign in again")
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	ss.ID, ss.Created, ss.LastSeen, ss.Expires = id, store.FromMicros(created), store.FromMicros(seen), store.FromMicros(expires)
	now := s.clock.Now()
	if !now.Before(ss.Expires) {
		_ = s.Delete(ctx, id)
		return Session{}, apperr.New(apperr.Unauthorized, "your session has expired; sign in again")
	}
	if now.Sub(ss.LastSeen) >= touchEvery {
		ss.LastSeen = now
		ss.Expires = now.Add(Idle)
		if hard := ss.Created.Add(Max); hard.Before(ss.Expires) {
			ss.Expires = hard
		}
		if _, err := s.db.Exec(ctx, `UPDATE web_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`, store.Micros(now), store.Micros(ss.Expires), HashToken(id)); err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return ss, nil
}

// Delete ends one session.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, HashToken(id)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteAll ends every session of the user ("sign out everywhere"), and is
// also called when a password changes or a user is removed.
func (s *Store) DeleteAll(ctx context.Context, userID string) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// List returns the user's live sessions, newest use first.
func (s *Store) List(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.db.Query(ctx, `SELECT method, user_agent, created_at, last_seen_at, expires_at FROM web_sessions WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC`,
		userID, store.Micros(s.clock.Now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss := Session{UserID: userID}
		var created, seen, expires int64
		if err := rows.Scan(&ss.Method, &ss.UserAgent, &created, &seen, &expires); err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		ss.Created, ss.LastSeen, ss.Expires = store.FromMicros(created), store.FromMicros(seen), store.FromMicros(expires)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// Purge removes expired sessions.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, store.Micros(s.clock.Now()))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// FromRequest returns the session whose cookie the request carries.
func (s *Store) FromRequest(r *http.Request) (Session, error) {
	c, err := r.Cookie(s.CookieName())
	if err != nil {
		return Session{}, apperr.New(apperr.Unauthorized, "not signed in")
	}
	return s.Lookup(r.Context(), c.Value)
}

// SetCookie sends the session cookie (MaxAge, not Expires: the browser's
// clock need not agree with ours): HttpOnly so scripts cannot read it,
// SameSite=Lax so other sites' forms do not carry it (CSRF tokens are the
// second guard), Secure over https.
func (s *Store) SetCookie(w http.ResponseWriter, ss Session) {
	http.SetCookie(w, &http.Cookie{Name: s.CookieName(), Value: ss.ID, Path: "/", MaxAge: int(Max.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// ClearCookie removes the session cookie from the browser.
func (s *Store) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.CookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// CheckCSRF reports whether the token sent with an unsafe request (form
// field "_csrf" or header X-CSRF-Token) is the session's.
func CheckCSRF(r *http.Request, ss Session) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("_csrf")
	}
	if !ss.ValidCSRF(got) {
		return apperr.New(apperr.Forbidden, "this form has expired or did not come from lastmile; reload the page and try again")
	}
	return nil
}

// ValidCSRF reports, in constant time, whether token is the session's
// CSRF token.
func (ss Session) ValidCSRF(token string) bool {
	token = strings.TrimSpace(token)
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.CSRF)) == 1
}
