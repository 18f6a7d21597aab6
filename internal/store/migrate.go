package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migrateLockKey is the Postgres advisory lock that serialises migrations
// across instances starting at the same time.
const migrateLockKey = 7240_2026

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.dialect))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number and '_'", name)
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// LatestVersion is the newest schema version this binary knows.
func (db *DB) LatestVersion() (int, error) {
	ms, err := db.migrations()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].version, nil
}

// SchemaVersion is the newest migration applied to the database (0 for none).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// CheckCurrent fails unless every migration of this binary is applied and none
// is unknown to it.
func (db *DB) CheckCurrent(ctx context.Context) error {
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("database has no lastmile schema (%w): run lastmile migrate", err)
	}
	want, err := db.LatestVersion()
	if err != nil {
		return err
	}
	if have > want {
		return fmt.Errorf("database schema is at version %d, newer than this binary knows (%d): upgrade lastmile", have, want)
	}
	if have != want {
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run lastmile migrate", have, want)
	}
	return nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, holding a lock so that instances starting together take turns.
// It returns how many were applied.
func (db *DB) Migrate(ctx context.Context, now func() time.Time) (int, error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, err
	}
	if db.dialect == Postgres {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return 0, fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	}
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if len(ms) > 0 && have > ms[len(ms)-1].version {
		return 0, fmt.Errorf("database schema version %d is newer than this binary knows (%d): upgrade lastmile", have, ms[len(ms)-1].version)
	}
	applied := 0
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		err := db.InTx(ctx, func(tx *Tx) error {
			// Re-check inside the transaction: on SQLite the write lock, not
			// an advisory lock, is what keeps two processes apart.
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.version, m.name, now().UnixMicro())
			return err
		})
		if err != nil {
			return applied, err
		}
		db.log.Info("applied migration", "migration", m.name)
		applied++
	}
	return applied, nil
}
