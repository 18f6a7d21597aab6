package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Batcher commits the work of many concurrent callers in one transaction
// ("group commit"). A commit costs one fsync whatever its size, so under load
// this turns thousands of tiny transactions a second into a few hundred larger
// ones, while each caller still returns only after its own work is durable.
type Batcher struct {
	db       *DB
	reqs     chan *batchReq
	maxBatch int
	log      *slog.Logger
	wg       sync.WaitGroup
	stop     chan struct{}
	mu       sync.RWMutex // held for reading while queueing, for writing to close
	closed   bool
	onCommit func(size int, took time.Duration)
}

// BatcherOptions tune a Batcher.
type BatcherOptions struct {
	// MaxBatch bounds how many callers share one transaction (default 256).
	MaxBatch int
	Logger   *slog.Logger
	// OnCommit, if set, is told the size and duration of every batch
	// transaction, for metrics.
	OnCommit func(size int, took time.Duration)
}

type batchReq struct {
	fn   func(ctx context.Context, tx *Tx) error
	done chan error
}

// ErrBatcherClosed is returned by Do after Close.
var ErrBatcherClosed = errors.New("store batcher is closed")

// NewBatcher starts writers for db: one on SQLite (there is one writer
// anyway), several on Postgres so that commits overlap.
func NewBatcher(db *DB, opt BatcherOptions) *Batcher {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 256
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Batcher{db: db, reqs: make(chan *batchReq, opt.MaxBatch*4), maxBatch: opt.MaxBatch, log: opt.Logger,
		stop: make(chan struct{}), onCommit: opt.OnCommit}
	workers := 1
	if db.dialect == Postgres {
		workers = 4
	}
	for range workers {
		b.wg.Add(1)
		go b.run()
	}
	return b
}

// Do runs fn inside a shared write transaction and returns once that
// transaction has committed (nil) or fn's own error or the commit error. fn
// may be run twice: if any function of a batch fails, the batch is rolled back
// and each function is retried alone, so one bad request cannot fail others.
// fn must therefore only write through tx and set its results afresh each run.
func (b *Batcher) Do(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	r := &batchReq{fn: fn, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrBatcherClosed
	}
	select {
	case b.reqs <- r:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if the caller gives up: the work
	// may be committing, and the caller must not report failure for it.
	return <-r.done
}

// Close stops the writers after the queued work is done.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Batcher) run() {
	defer b.wg.Done()
	batch := make([]*batchReq, 0, b.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.stop:
			// Drain what was queued before the stop.
			for {
				select {
				case r := <-b.reqs:
					b.commit([]*batchReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.commit(batch)
	}
}

func (b *Batcher) commit(batch []*batchReq) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	start := time.Now()
	if b.onCommit != nil {
		defer func() { b.onCommit(len(batch), time.Since(start)) }()
	}
	err := b.db.InTx(ctx, func(tx *Tx) error {
		for i, r := range batch {
			if errs[i] = r.fn(ctx, tx); errs[i] != nil {
				return errs[i]
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	b.log.Debug("batch failed, retrying one by one", "size", len(batch), "err", err)
	for _, r := range batch {
		r.done <- b.db.InTx(ctx, func(tx *Tx) error { return r.fn(ctx, tx) })
	}
}
