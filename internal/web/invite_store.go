package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/web/session"
)

// inviteValidity is how long an invitation link works: long enough for a
// colleague back from a week off, short enough that a forgotten link in a
// mailbox does not stay a way in.
const inviteValidity = 7 * 24 * time.Hour

// invite is one stored invitation; the token itself is never stored.
type invite struct {
	UserID    string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// inviteStore keeps invitations in the invites table. Only a SHA-256 of the
// link's 256-bit token is kept, so a copy of the database invites no one.
type inviteStore struct {
	db  *store.DB
	now func() time.Time
}

func (s *Server) invites() inviteStore {
	return inviteStore{db: s.cfg.DB, now: s.cfg.Clock.Now}
}

// create makes an invitation for the user and returns the token for the
// link, which is shown or sent once and not kept.
func (st inviteStore) create(ctx context.Context, userID, createdBy string) (string, error) {
	token := session.NewToken()
	now := st.now()
	_, err := st.db.Exec(ctx, `INSERT INTO invites (token_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		session.HashToken(token), userID, createdBy, store.Micros(now), store.Micros(now.Add(inviteValidity)))
	if err != nil {
		return "", fmt.Errorf("create invite: %w", err)
	}
	return token, nil
}

// lookup returns the invitation of a token that can still be used; an
// unknown, used or expired token is NotFound with a message saying which.
func (st inviteStore) lookup(ctx context.Context, token string) (invite, error) {
	if token == "" || len(token) > 100 {
		return invite{}, apperr.New(apperr.NotFound, "This invitation link is not valid. Check that it was copied whole, or ask for a new one.")
	}
	var inv invite
	var created, expires int64
	var used sql.NullInt64
	err := st.db.QueryRow(ctx, `SELECT user_id, created_by, created_at, expires_at, used_at FROM invites WHERE token_hash = ?`, session.HashToken(token)).
		Scan(&inv.UserID, &inv.CreatedBy, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return invite{}, apperr.New(apperr.NotFound, "This invitation link is not valid. Check that it was copied whole, or ask for a new one.")
	}
	if err != nil {
		return invite{}, fmt.Errorf("look up invite: %w", err)
	}
	inv.CreatedAt, inv.ExpiresAt = store.FromMicros(created), store.FromMicros(expires)
	if used.Valid {
		return invite{}, apperr.New(apperr.NotFound, "This invitation has already been used. Sign in with your password, or ask an administrator for a new link.")
	}
	if !st.now().Before(inv.ExpiresAt) {
		return invite{}, apperr.New(apperr.NotFound, "This invitation has expired. Ask whoever invited you for a new link.")
	}
	return inv, nil
}

// use marks the token used, and with it every other open invitation of the
// same user, so that an older link in a mailbox stops working too. It fails
// if the token was used or expired meanwhile: two tabs cannot both use it.
func (st inviteStore) use(ctx context.Context, token, userID string) error {
	now := store.Micros(st.now())
	return st.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, now, session.HashToken(token), now)
		if err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "This invitation has already been used or has expired.")
		}
		if _, err := tx.Exec(ctx, `UPDATE invites SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, now, userID); err != nil {
			return fmt.Errorf("close other invites: %w", err)
		}
		return nil
	})
}

// pending returns the users who were invited and have not used any
// invitation yet, with their latest invitation's expiry.
func (st inviteStore) pending(ctx context.Context) (map[string]time.Time, error) {
	rows, err := st.db.Query(ctx, `SELECT user_id, MAX(expires_at) FROM invites GROUP BY user_id HAVING COUNT(used_at) = 0`)
	if err != nil {
		return nil, fmt.Errorf("list pending invites: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var exp int64
		if err := rows.Scan(&id, &exp); err != nil {
			return nil, fmt.Errorf("scan pending invite: %w", err)
		}
		out[id] = store.FromMicros(exp)
	}
	return out, rows.Err()
}

// isPending reports whether the user was invited and never used an
// invitation (so has not chosen a password through one).
func (st inviteStore) isPending(ctx context.Context, userID string) (bool, error) {
	var total, used int
	err := st.db.QueryRow(ctx, `SELECT COUNT(*), COUNT(used_at) FROM invites WHERE user_id = ?`, userID).Scan(&total, &used)
	if err != nil {
		return false, fmt.Errorf("check invites: %w", err)
	}
	return total > 0 && used == 0, nil
}
