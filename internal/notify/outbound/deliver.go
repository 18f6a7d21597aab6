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
}

func (j *job) key() string { return j.webhookID + "/" + j.source + "/" + j.sourceID }

// stream is the sequence of events whose order a webhook sees kept: the
// events of one alert, the duty events of the team, or a test alone.
func (j *job) stream() string {
	switch j.source {
	case sourceTimeline:
		return j.webhookID + "/alert/" + j.alertID
	case sourceDuty:
		return j.webhookID + "/duty"
	}
	return j.key()
}

// keyExpr is a delivery's primary key as one value, so that store.Claimable
// can claim by it.
const keyExpr = `webhook_id || '/' || source || '/' || source_id`

// withStream selects deliveries with the alert of their timeline entry.
const withStream = `FROM webhook_deliveries d LEFT JOIN timeline t
	ON t.id = CASE WHEN d.source = 'timeline' THEN CAST(d.source_id AS BIGINT) END`

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

// due reads up to batchSize pending deliveries that are due, in event
// order.
func (d *Deliverer) due(ctx context.Context, now time.Time) ([]*job, error) {
	rows, err := d.db.Query(ctx, `SELECT d.webhook_id, d.source, d.source_id, d.event_type, d.created_at, COALESCE(t.alert_id, '') `+withStream+`
		WHERE d.status = 'pending' AND d.due_at <= ? ORDER BY d.created_at, length(d.source_id), d.source_id LIMIT ?`, store.Micros(now), batchSize)
	if err != nil {
		return nil, fmt.Errorf("read due webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*job
	for rows.Next() {
		j := &job{}
		if err := rows.Scan(&j.webhookID, &j.source, &j.sourceID, &j.eventType, &j.createdAt, &j.alertID); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// unblocked splits due deliveries into those that may go now and those
// waiting behind an earlier event of their stream that is being sent or
// waits for a retry; the latter are given that event's next attempt time.
// Events at the same microsecond count as earlier, to be safe.
func (d *Deliverer) unblocked(ctx context.Context, cands []*job, now time.Time) (ready []*job, deferred map[*job]time.Time, err error) {
	rows, err := d.db.Query(ctx, `SELECT d.webhook_id, d.source, COALESCE(t.alert_id, ''), MIN(d.created_at), MIN(CASE WHEN d.status = 'pending' THEN d.due_at END) `+withStream+`
		WHERE (d.status = 'sending' OR (d.status = 'pending' AND d.due_at > ?)) AND d.source <> 'test'
		GROUP BY d.webhook_id, d.source, COALESCE(t.alert_id, '')`, store.Micros(now))
	if err != nil {
		return nil, nil, fmt.Errorf("read waiting webhook deliveries: %w", err)
	}
	defer rows.Close()
	type blocker struct {
		first int64
		next  time.Time
	}
	blockers := map[string]blocker{}
	for rows.Next() {
		var b job
		var first int64
		var next *int64
		if err := rows.Scan(&b.webhookID, &b.source, &b.alertID, &first, &next); err != nil {
			return nil, nil, err
		}
		bl := blocker{first: first, next: now.Add(blockedWait)}
		if next != nil {
			bl.next = store.FromMicros(*next)
		}
		blockers[b.stream()] = bl
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	deferred = map[*job]time.Time{}
	for _, j := range cands {
		if b, ok := blockers[j.stream()]; ok && j.source != sourceTest && b.first <= j.createdAt {
			deferred[j] = b.next
			continue
		}
		ready = append(ready, j)
	}
	return ready, deferred, nil
}

// claim marks ready deliveries as being sent by this instance and moves
// deferred ones to their new due time, in one transaction. A delivery is
// handed back at once if an earlier one of its stream could not be claimed
// (another instance has it), so a stream never has two senders.
func (d *Deliverer) claim(ctx context.Context, ready []*job, deferred map[*job]time.Time, now time.Time) ([]*job, error) {
	var jobs []*job
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		jobs = jobs[:0]
		for j, at := range deferred {
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET due_at = ? WHERE webhook_id = ? AND source = ? AND source_id = ? AND status = 'pending'`,
				store.Micros(at), j.webhookID, j.source, j.sourceID); err != nil {
				return fmt.Errorf("defer webhook delivery: %w", err)
			}
		}
		claimed := map[string]int{}
		for start := 0; start < len(ready); start += 100 {
			part := ready[start:min(start+100, len(ready))]
			args := []any{d.opt.InstanceID, store.Micros(now), store.Micros(now)}
			for _, j := range part {
				args = append(args, j.key())
			}
			rows, err := tx.Query(ctx, `UPDATE webhook_deliveries SET status = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1
				WHERE status = 'pending' AND `+store.Claimable(tx.Dialect(), "webhook_deliveries", keyExpr, "status = 'pending' AND due_at <= ?", len(part))+`
				RETURNING `+keyExpr+`, attempts`, args...)
			if err != nil {
				return fmt.Errorf("claim webhook deliveries: %w", err)
			}
			for rows.Next() {
				var k string
				var n int
				if err := rows.Scan(&k, &n); err != nil {
					rows.Close()
					return err
				}
				claimed[k] = n
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
		}
		broken := map[string]bool{}
		var release []any
		for _, j := range ready {
			n, ok := claimed[j.key()]
			switch {
			case !ok:
				broken[j.stream()] = true
			case broken[j.stream()]:
				release = append(release, j.key())
			default:
				j.attempts = n
				jobs = append(jobs, j)
			}
		}
		if len(release) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '', attempts = attempts - 1
				WHERE status = 'sending' AND `+keyExpr+` IN (`+store.Placeholders(len(release))+`)`, release...); err != nil {
				return fmt.Errorf("release webhook deliveries: %w", err)
			}
		}
		return nil
	})
	return jobs, err
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
		j.res, j.err = resFailed, "not sent: the signing secret cannot be read: "+h.openErr.Error()
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

// record stores the outcomes: sent and dropped deliveries in one
// statement each, the rest one by one, and each webhook's latest outcome.
func (d *Deliverer) record(ctx context.Context, tx *store.Tx, jobs []*job) error {
	var sent, dropped []any
	latest := map[string]*job{}
	for _, j := range jobs {
		if j.attempted {
			if l, ok := latest[j.webhookID]; !ok || !j.at.Before(l.at) {
				latest[j.webhookID] = j
			}
		}
		var q string
		var args []any
		switch j.res {
		case resSent:
			sent = append(sent, j.key())
			continue
		case resDropped:
			dropped = append(dropped, j.key())
			continue
		case resHeld:
			q, args = `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '', attempts = attempts - 1, due_at = ?`, []any{store.Micros(j.due)}
		case resRetry:
			q, args = `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '', due_at = ?, last_error = ?`, []any{store.Micros(j.due), j.err}
		case resFailed:
			q, args = `UPDATE webhook_deliveries SET status = 'failed', claimed_by = '', last_error = ?`, []any{j.err}
			if !j.attempted {
				q += `, attempts = attempts - 1`
			}
		}
		args = append(args, j.webhookID, j.source, j.sourceID, d.opt.InstanceID)
		if _, err := tx.Exec(ctx, q+` WHERE webhook_id = ? AND source = ? AND source_id = ? AND claimed_by = ? AND status = 'sending'`, args...); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
	}
	if len(sent) > 0 {
		args := append([]any{store.Micros(d.clock.Now()), d.opt.InstanceID}, sent...)
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'sent', sent_at = ?, claimed_by = '', last_error = ''
			WHERE status = 'sending' AND claimed_by = ? AND `+keyExpr+` IN (`+store.Placeholders(len(sent))+`)`, args...); err != nil {
			return fmt.Errorf("record sent webhook deliveries: %w", err)
		}
	}
	if len(dropped) > 0 {
		args := append([]any{d.opt.InstanceID}, dropped...)
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status = 'sending' AND claimed_by = ? AND `+keyExpr+` IN (`+store.Placeholders(len(dropped))+`)`, args...); err != nil {
			return fmt.Errorf("drop filtered webhook deliveries: %w", err)
		}
	}
	for id, j := range latest {
		if _, err := tx.Exec(ctx, `UPDATE team_webhooks SET last_status = ?, last_error = ?, last_at = ? WHERE id = ?`,
			j.res.word(), j.err, store.Micros(j.at), id); err != nil {
			return fmt.Errorf("record webhook status: %w", err)
		}
	}
	return nil
}
