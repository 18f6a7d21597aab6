package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

// Keys keeps server-wide key material in server_keys, sealed. Every
// instance on one database reads the same keys.
type Keys struct {
	db    *store.DB
	box   *seal.Box
	clock clock.Clock
}

// NewKeys returns the key store.
func NewKeys(db *store.DB, box *seal.Box, c clock.Clock) *Keys {
	return &Keys{db: db, box: box, clock: c}
}

// GetOrCreate returns the key named name, creating it with gen the first
// time any instance asks. Two instances racing both generate, one insert
// wins, and both return the winner.
func (k *Keys) GetOrCreate(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	if v, ok, err := k.get(ctx, name); err != nil || ok {
		return v, err
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", name, err)
	}
	if _, err := k.db.Exec(ctx, `INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, k.box.Seal(fresh, "server_keys/"+name), store.Micros(k.clock.Now())); err != nil {
		return nil, fmt.Errorf("store key %s: %w", name, err)
	}
	v, _, err := k.get(ctx, name)
	return v, err
}

func (k *Keys) get(ctx context.Context, name string) ([]byte, bool, error) {
	var sealed string
	err := k.db.QueryRow(ctx, `SELECT value FROM server_keys WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read key %s: %w", name, err)
	}
	v, err := k.box.Open(sealed, "server_keys/"+name)
	if err != nil {
		return nil, false, fmt.Errorf("key %s: %w", name, err)
	}
	return v, true, nil
}

// CheckEncryptionKey makes sure this server's encryption key is the one
// the database's secrets were sealed with, so a wrong key is a clear error
// at start instead of failing channels later.
func (k *Keys) CheckEncryptionKey(ctx context.Context) error {
	_, err := k.GetOrCreate(ctx, "canary", func() ([]byte, error) { return []byte("lastmile"), nil })
	if err != nil {
		return fmt.Errorf("the encryption key does not open this database's secrets; start with the key it was created with (--encryption-key or --encryption-key-file): %w", err)
	}
	return nil
}
