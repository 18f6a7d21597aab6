package outbound

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// Claiming keeps the events of one stream in order across rounds and
// instances: a delivery is not claimed while an earlier one of its
// stream is being sent or waits for a retry.

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
