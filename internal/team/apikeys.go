package team

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// APIKey describes a key; the key itself is shown only when created.
type APIKey struct {
	ID         string     `json:"id"`
	UserID     string     `json:"userId"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

const apiKeyPrefix = "lm_"

// lastUsedGranularity bounds how often authentication writes last_used_at,
// so that every API call does not become a write.
const lastUsedGranularity = time.Minute

// CreateAPIKey makes a key for the user and returns it with its secret, which
// is not stored and cannot be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, userID, name string) (APIKey, string, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return APIKey{}, "", err
	}
	secret := newSecret(apiKeyPrefix)
	k := APIKey{ID: store.NewID(), UserID: userID, Name: strings.TrimSpace(name), Prefix: secret[:len(apiKeyPrefix)+6], CreatedAt: s.clock.Now()}
	_, err := s.db.Exec(ctx, `INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, hashSecret(secret), k.Prefix, store.Micros(k.CreatedAt))
	if err != nil {
		return APIKey{}, "", fmt.Errorf("insert api key: %w", err)
	}
	return k, secret, nil
}

// APIKeys lists the user's keys, revoked ones included.
func (s *Service) APIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	if _, err := s.User(ctx, userID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		var k APIKey
		var created int64
		var used, revoked *int64
		if err := rows.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("scan api key: %w", err)
		}
		k.CreatedAt, k.LastUsedAt, k.RevokedAt = store.FromMicros(created), store.OptTime(used), store.OptTime(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes one of the user's keys; it stops working at once.
func (s *Service) RevokeAPIKey(ctx context.Context, userID, keyID string) error {
	res, err := s.db.Exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, store.Micros(s.clock.Now()), keyID, userID)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "no active api key %s for this user", keyID)
	}
	return nil
}

// Authenticate returns the user owning an unrevoked key.
func (s *Service) Authenticate(ctx context.Context, key string) (User, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) {
		return User{}, apperr.New(apperr.Unauthorized, "invalid api key")
	}
	var keyID string
	var used *int64
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT u.id, u.email, u.name, u.is_admin, u.time_zone, u.created_at, k.id, k.last_used_at
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.revoked_at IS NULL`, hashSecret(key)), &keyID, &used)
	if err != nil {
		return User{}, apperr.New(apperr.Unauthorized, "invalid or revoked api key")
	}
	if now := s.clock.Now(); used == nil || now.Sub(store.FromMicros(*used)) > lastUsedGranularity {
		_, _ = s.db.Exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, store.Micros(now), keyID)
	}
	return u, nil
}
