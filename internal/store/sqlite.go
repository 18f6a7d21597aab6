package store

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SQLitePath returns the file path named by a SQLite database URL.
func SQLitePath(rawURL string) string {
	p := strings.TrimPrefix(rawURL, "sqlite:")
	p = strings.TrimPrefix(p, "//")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

func openSQLite(rawURL string, opt Options) (*DB, error) {
	path := SQLitePath(rawURL)
	if path == "" {
		return nil, errors.New("database URL names no SQLite file: use sqlite:PATH")
	}
	if strings.Contains(path, ":memory:") || strings.Contains(rawURL, "mode=memory") {
		// Each pooled connection would get its own empty database.
		return nil, errors.New("in-memory SQLite is not supported: name a file, e.g. sqlite:lastmile.db")
	}
	syncMode := strings.ToUpper(opt.SQLiteSynchronous)
	if syncMode == "" {
		syncMode = "FULL"
	}
	if syncMode != "FULL" && syncMode != "NORMAL" {
		return nil, fmt.Errorf("sqlite synchronous mode %q: use full or normal", opt.SQLiteSynchronous)
	}
	// Pragmas go in the DSN so that every pooled connection gets them.
	q := url.Values{}
	// busy_timeout first: switching a new file to WAL takes a lock, and
	// processes opening it together must wait for it, not fail.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	// A bigger page cache keeps the indexes the ingest path touches in memory.
	q.Add("_pragma", "cache_size(-65536)")
	q.Set("_txlock", "immediate")
	open := func(extra ...string) (*sql.DB, error) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = append([]string(nil), v...)
		}
		for _, p := range extra {
			qq.Add("_pragma", p)
		}
		d, err := sql.Open("sqlite", "file:"+path+"?"+qq.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		return d, nil
	}
	// The writer never checkpoints: a checkpoint inside a commit would stall
	// every event queued behind it. The checkpointer does it beside it.
	w, err := open("wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := open("query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opt.MaxConns)
	r.SetMaxIdleConns(opt.MaxConns)
	c, err := open()
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	c.SetMaxOpenConns(1)
	db := &DB{dialect: SQLite, write: w, read: r, ckpt: c, ckptStop: make(chan struct{}), ckptDone: make(chan struct{})}
	go db.checkpointer()
	return db, nil
}

// checkpointInterval is how often the WAL is copied back into the database.
const checkpointInterval = 500 * time.Millisecond

// checkpointer copies the WAL into the database file in the background, in
// PASSIVE mode, which never blocks the writer or readers.
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.ckptStop:
			return
		case <-t.C:
			if _, err := db.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil && db.log != nil {
				db.log.Warn("checkpoint the SQLite WAL", "err", err)
			}
		}
	}
}
