// Package store opens the database named by a URL (SQLite by default, PostgreSQL
// for several instances), applies the embedded migrations and gives the domain
// packages one small query API over both dialects.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL flavour of a database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// Options tune durability and pool sizes.
type Options struct {
	// SQLiteSynchronous is SQLite's synchronous pragma: "full" (an
	// acknowledged write survives power loss) or "normal" (survives a process
	// crash; the last commits may be lost on power loss).
	SQLiteSynchronous string
	// PostgresSynchronousCommit is PostgreSQL's synchronous_commit for this
	// server's sessions: "on" (default, survives power loss) or "off"
	// (survives a server crash except the last few hundred milliseconds).
	PostgresSynchronousCommit string
	// MaxConns caps the read pool (and the Postgres write pool).
	MaxConns int
	Logger   *slog.Logger
}

// DB is an open database. On SQLite it keeps one write connection and a pool of
// readers, so writers queue in Go instead of failing with SQLITE_BUSY.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	log     *slog.Logger
	binds   sync.Map // query text → rebound text (Postgres)
	stmts   sync.Map // query text → *sql.Stmt prepared on the SQLite writer

	ckpt      *sql.DB       // SQLite: the connection that checkpoints the WAL
	ckptStop  chan struct{} // closed to stop the checkpointer
	ckptDone  chan struct{}
	closeOnce sync.Once
}

// Open opens the database at rawURL: "sqlite:PATH", a plain file path, or
// "postgres://…". It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 16
	}
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err = openPostgres(rawURL, opt)
	default:
		db, err = openSQLite(rawURL, opt)
	}
	if err != nil {
		return nil, err
	}
	db.log = opt.Logger
	if err := db.connect(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	return db, nil
}

// connect makes the first connection. Processes opening a new SQLite file
// together race to switch it to WAL, and SQLite answers the loser BUSY
// without waiting (to avoid a deadlock), so that is retried for a while.
func (db *DB) connect(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := db.write.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || attempt >= 100 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Dialect tells which SQL flavour this database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes all connections.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	var first bool
	db.closeOnce.Do(func() { first = true })
	if !first {
		return nil // closing twice is harmless, as with sql.DB
	}
	if db.ckpt != nil {
		close(db.ckptStop)
		<-db.ckptDone
		// A last full checkpoint leaves the database file complete on its own.
		_, _ = db.ckpt.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		db.ckpt.Close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// rebind turns the '?' placeholders every query is written with into $n for
// PostgreSQL. Queries are constants, so the result is cached.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	if v, ok := db.binds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	s := b.String()
	db.binds.Store(q, s)
	return s
}

// Q runs queries; both DB and Tx implement it, so helpers work inside or
// outside a transaction.
type Q interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

// Exec runs a write outside a transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, db.rebind(query), args...)
}

// Query runs a read.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRow runs a read of one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.rebind(query), args...)
}

// Tx is a write transaction.
type Tx struct {
	db *DB
	tx *sql.Tx
}

// Dialect tells which SQL flavour this transaction speaks.
func (t *Tx) Dialect() Dialect { return t.db.dialect }

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.db.rebind(query), args...)
}

// Query runs a query in the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.db.rebind(query), args...)
}

// QueryRow runs a one-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.db.rebind(query), args...)
}

// prepared returns the transaction's handle on a statement prepared by
// Prepare, or nil.
func (t *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	v, ok := t.db.stmts.Load(query)
	if !ok {
		return nil
	}
	return t.tx.StmtContext(ctx, v.(*sql.Stmt))
}

// Prepare prepares hot write statements once, so that transactions skip
// parsing them again: on SQLite parsing costs more than running a small
// insert. It must be called before the statements are used in a
// transaction. PostgreSQL needs none of this: pgx caches prepared
// statements per connection by itself.
func (db *DB) Prepare(ctx context.Context, queries ...string) error {
	if db.dialect != SQLite {
		return nil
	}
	for _, q := range queries {
		if _, ok := db.stmts.Load(q); ok {
			continue
		}
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		if _, loaded := db.stmts.LoadOrStore(q, st); loaded {
			st.Close()
		}
	}
	return nil
}

// InTx runs fn in a write transaction and commits if fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{db: db, tx: sqlTx}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// NotFound maps sql.ErrNoRows to ErrNotFound and wraps other errors with what.
func NotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
