package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

func TestMigrateIsIdempotentAndCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second Migrate applied %d migrations, want 0", n)
		}
		if err := db.CheckCurrent(ctx); err != nil {
			t.Fatalf("CheckCurrent after migrate: %v", err)
		}
		latest, _ := db.LatestVersion()
		if latest < 1 {
			t.Fatalf("LatestVersion = %d", latest)
		}
	})
}

func TestNewerSchemaIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckCurrent(ctx); err == nil {
			t.Fatal("CheckCurrent accepted a schema newer than the binary")
		}
		if _, err := db.Migrate(ctx, time.Now); err == nil {
			t.Fatal("Migrate accepted a schema newer than the binary")
		}
	})
}

func TestConcurrentMigrateOnFreshDatabase(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			url := storetest.URL(t, d)
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := store.Open(ctx, url, store.Options{})
					if err != nil {
						errs <- err
						return
					}
					defer db.Close()
					_, err = db.Migrate(ctx, time.Now)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
		})
	}
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ins := `INSERT INTO users (id, email, created_at) VALUES (?, ?, 0)`
		if _, err := db.Exec(ctx, ins, "u1", "a@example.com"); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, ins, "u2", "a@example.com")
		if !store.IsUniqueViolation(err) {
			t.Fatalf("IsUniqueViolation(%v) = false", err)
		}
		if store.IsUniqueViolation(errors.New("other")) {
			t.Fatal("IsUniqueViolation(other error) = true")
		}
	})
}

func TestInTxRollsBackOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, created_at) VALUES ('u1', 'a@example.com', 0)`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want boom", err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("users after rollback = %d (%v), want 0", n, err)
		}
	})
}

// A failing function must not take the rest of its batch down with it.
func TestBatcherIsolatesFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := store.NewBatcher(db, store.BatcherOptions{MaxBatch: 64})
		defer b.Close()
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = b.Do(ctx, func(ctx context.Context, tx *store.Tx) error {
					if i%10 == 3 {
						return fmt.Errorf("bad %d", i)
					}
					_, err := tx.Exec(ctx, `INSERT INTO users (id, email, created_at) VALUES (?, ?, 0)`, fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i))
					return err
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%10 == 3) != (err != nil) {
				t.Errorf("call %d: err = %v", i, err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 36 {
			t.Fatalf("users = %d, want 36", n)
		}
		b.Close()
		if err := b.Do(ctx, func(context.Context, *store.Tx) error { return nil }); !errors.Is(err, store.ErrBatcherClosed) {
			t.Fatalf("Do after Close = %v", err)
		}
	})
}

func TestSQLitePath(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:lastmile.db":      "lastmile.db",
		"sqlite:///var/lib/lm.db": "/var/lib/lm.db",
		"data/lm.db":              "data/lm.db",
		"sqlite:lm.db?cache=x":    "lm.db",
	} {
		if got := store.SQLitePath(in); got != want {
			t.Errorf("SQLitePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Closing leaves a complete database file: the WAL is checkpointed and
// truncated, so a copy of the file alone holds every commit.
func TestSQLiteCloseCheckpointsTheWAL(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, store.SQLite)
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, time.Now); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := db.Exec(ctx, `INSERT INTO users (id, email, created_at) VALUES (?, ?, 0)`, fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	path := store.SQLitePath(url)
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("expected a non-empty WAL while open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() != 0 {
		t.Fatalf("WAL still holds %d bytes after Close", st.Size())
	}
	db, err = store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 100 {
		t.Fatalf("users after reopen: %d (%v)", n, err)
	}
}
