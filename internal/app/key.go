package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/lastmile/lastmile/internal/seal"
)

// encryptionKey returns the key that seals stored secrets: given, read
// from its file, or, on a first start with neither, made and written to
// the file (readable by the owner only) so that trying lastmile out needs
// no setup. Losing the file loses the stored credentials, not the alerts.
func encryptionKey(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.EncryptionKey != "" {
		return seal.ParseKey(cfg.EncryptionKey)
	}
	path := cfg.EncryptionKeyFile
	if path == "" {
		return nil, errors.New("no encryption key: set --encryption-key or --encryption-key-file")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := seal.NewKey()
		if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create encryption key file %s: %w", path, err)
		}
		log.Warn("created a new encryption key for stored credentials; back it up, and give every instance on this database the same key", "file", path)
		return seal.ParseKey(k)
	}
	if err != nil {
		return nil, fmt.Errorf("read encryption key file: %w", err)
	}
	k, err := seal.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return k, nil
}
