package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

const (
	// maxAttempts bounds the attempts at one delivery.
	maxAttempts = 10
	// maxBackoff caps the wait between attempts.
	maxBackoff = time.Hour
	// staleClaim is how long a delivery may stay "sending" before another
	// instance assumes its sender died and sends it again: an event may
	// then arrive twice (receivers drop repeats by id), but is never lost.
	staleClaim = 2 * time.Minute
	// claimBudget is how long after claiming a batch new posts may start,
	// well inside staleClaim so that no one reclaims a batch still being
	// worked on.
	claimBudget = 90 * time.Second
	// sendTimeout bounds one post.
	sendTimeout = 30 * time.Second
	// batchSize is how many deliveries one round considers; maxRounds
	// bounds the rounds of one RunOnce.
	batchSize = 200
	maxRounds = 10
	// blockedWait is how long a delivery waits behind an earlier event of
	// its stream that another sender is posting right now.
	blockedWait = 15 * time.Second
)

// backoff is the wait after failed attempt n (1-based): 10 s, 20 s, 40 s, …
// up to an hour.
func backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 12 {
		return maxBackoff
	}
	return min(10*time.Second<<(n-1), maxBackoff)
}

// DelivererOptions tune the Deliverer.
type DelivererOptions struct {
	// InstanceID names this server in claims; default a random id.
	InstanceID string
	// Concurrency bounds the posts in flight at once (default 8).
	Concurrency int
}

// Deliverer posts queued deliveries. Every instance of the server may run
// one: claims keep them from posting the same delivery twice.
type Deliverer struct {
	db     *store.DB
	box    *seal.Box
	clock  clock.Clock
	client *http.Client
	log    *slog.Logger
	opt    DelivererOptions
}

// NewDeliverer returns a Deliverer that posts with client, which should be
// notify.GuardedClient so that targets on internal addresses are refused
// at connection time whatever their name resolves to by then.
func NewDeliverer(db *store.DB, box *seal.Box, c clock.Clock, client *http.Client, log *slog.Logger, opt DelivererOptions) *Deliverer {
	if opt.InstanceID == "" {
		opt.InstanceID = store.NewID()
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{db: db, box: box, clock: c, client: client, log: log, opt: opt}
}

// result is what became of a job in this round.
type result int

const (
	resHeld    result = iota // not attempted: back to pending, due at job.due
	resSent                  // the receiver answered 2xx
	resRetry                 // try again at job.due
	resFailed                // given up (permanent answer, too many attempts, or not sendable)
	resDropped               // the webhook does not subscribe to the event: removed
)

// word is how a webhook's last status shows an attempt's result.
func (r result) word() string {
	switch r {
	case resSent:
		return "sent"
	case resRetry:
		return "retrying"
	}
	return "failed"
}

// job is one claimed delivery.
type job struct {
	webhookID, source, sourceID string
	eventType                   int
	createdAt                   int64
	attempts                    int // counting this one
	alertID                     string
	eventID                     string

	hook *hook
	body []byte

	res       result
	err       string
	due       time.Time
	at        time.Time
	attempted bool // a post was made
	report    bool // the webhook's status should show this outcome
}

func (j *job) key() string { return j.webhookID + "/" + j.source + "/" + j.sourceID }

// RunOnce posts the deliveries that are due, in rounds of up to 200, and
// records what became of them. The engine calls it from its loop.
func (d *Deliverer) RunOnce(ctx context.Context) error {
	now := d.clock.Now()
	if _, err := d.db.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`,
		store.Micros(now.Add(-staleClaim))); err != nil {
		return fmt.Errorf("reclaim webhook deliveries: %w", err)
	}
	for range maxRounds {
		n, err := d.round(ctx)
		if err != nil || n < batchSize {
			return err
		}
	}
	return nil
}

// Prune removes sent and failed deliveries last due before t, so that
// the outbox does not grow without end; the lead's housekeeping calls it.
func (d *Deliverer) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status IN ('sent', 'failed') AND due_at < ?`, store.Micros(before))
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// round handles one batch and returns how many due deliveries it looked at.
func (d *Deliverer) round(ctx context.Context) (int, error) {
	now := d.clock.Now()
	cands, err := d.due(ctx, now)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	ready, deferred, err := d.unblocked(ctx, cands, now)
	if err != nil {
		return 0, err
	}
	jobs, err := d.claim(ctx, ready, deferred, now)
	if err != nil {
		return 0, err
	}
	if len(jobs) > 0 {
		if err := d.deliver(ctx, jobs, now); err != nil {
			return 0, err
		}
	}
	return len(cands), nil
}

// deliver renders the claimed jobs, posts them stream by stream (the
// streams concurrently, each in order) and records the outcomes.
func (d *Deliverer) deliver(ctx context.Context, jobs []*job, claimedAt time.Time) error {
	b, err := d.load(ctx, jobs)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		d.prepare(b, j)
	}
	var order []string
	streams := map[string][]*job{}
	for _, j := range jobs {
		s := j.stream()
		if _, ok := streams[s]; !ok {
			order = append(order, s)
		}
		streams[s] = append(streams[s], j)
	}
	sem := make(chan struct{}, d.opt.Concurrency)
	var wg sync.WaitGroup
	for _, s := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.sendStream(ctx, streams[s], claimedAt)
		}()
	}
	wg.Wait()
	// The posts happened: record them even if ctx was cancelled meanwhile.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return d.db.InTx(rctx, func(tx *store.Tx) error { return d.record(rctx, tx, jobs) })
}

// prepare decides what to do with j and renders its body.
func (d *Deliverer) prepare(b *batch, j *job) {
	j.res, j.due = resHeld, d.clock.Now()
	h, ok := b.hooks[j.webhookID]
	switch {
	case !ok:
		j.res = resDropped // the webhook was deleted; its rows go with it
		return
	case !h.Enabled && j.source != sourceTest:
		j.res, j.err = resFailed, "not sent: the webhook is turned off"
		return
	case !h.wants(j.eventType):
		j.res = resDropped
		return
	case h.openErr != nil:
		// The server's encryption key changed: an admin must rotate the
		// secret, so the webhook's status says so.
		j.res, j.err, j.at, j.report = resFailed, "not sent: the signing secret cannot be read ("+h.openErr.Error()+"); rotate the webhook's secret", d.clock.Now(), true
		d.log.Warn("outbound webhook secret does not open", "webhook", h.ID, "err", h.openErr)
		return
	}
	j.hook = h
	j.eventID = eventID(h.TeamID, j.source, j.sourceID)
	p, why := b.render(j, h)
	if why != "" {
		j.res, j.err = resFailed, why
		return
	}
	body, err := json.Marshal(p)
	if err != nil {
		j.res, j.err = resFailed, "not sent: "+err.Error()
		return
	}
	j.body = body
}

// sendStream posts a stream's jobs in order. After one that will be
// retried, the rest wait for it; so do all once the claim budget is spent.
func (d *Deliverer) sendStream(ctx context.Context, jobs []*job, claimedAt time.Time) {
	for i, j := range jobs {
		if j.body == nil {
			continue // decided by prepare
		}
		if ctx.Err() != nil || d.clock.Now().Sub(claimedAt) > claimBudget {
			return // the rest stay held, due now
		}
		d.post(ctx, j)
		if j.res == resRetry {
			for _, later := range jobs[i+1:] {
				if later.body != nil {
					later.due = j.due
				}
			}
			return
		}
	}
}
