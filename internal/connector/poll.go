package connector

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

const (
	// firstLookBack is how far the first poll of a connector reads back.
	firstLookBack = 24 * time.Hour
	// lease bounds how long one instance may hold a connector's poll
	// before another assumes it died and polls instead.
	lease = 2 * time.Minute
	// pollTimeout bounds one poll, including the alerts it opens.
	pollTimeout = 90 * time.Second
)

// Runner polls the connectors that are due and writes back what
// responders did. Every instance may run one.
type Runner struct {
	svc    *Service
	db     *store.DB
	alerts *alert.Service
	teams  *team.Service
	clock  clock.Clock
	log    *slog.Logger
	opt    RunnerOptions
}

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// InstanceID names this server in leases and claims.
	InstanceID string
	// Wake, if set, is called after new alerts are opened, so the
	// notification engine plans them at once.
	Wake func()
}

// NewRunner returns a runner.
func NewRunner(svc *Service, alerts *alert.Service, teams *team.Service, log *slog.Logger, opt RunnerOptions) *Runner {
	if opt.InstanceID == "" {
		opt.InstanceID = store.NewID()
	}
	if opt.Wake == nil {
		opt.Wake = func() {}
	}
	return &Runner{svc: svc, db: svc.db, alerts: alerts, teams: teams, clock: svc.clock, log: log, opt: opt}
}

// RunOnce polls every connector that is due, then writes back.
func (r *Runner) RunOnce(ctx context.Context) error {
	if err := r.pollDue(ctx); err != nil {
		return fmt.Errorf("poll connectors: %w", err)
	}
	if err := r.writeBack(ctx); err != nil {
		return fmt.Errorf("write back: %w", err)
	}
	return nil
}

func (r *Runner) pollDue(ctx context.Context) error {
	now := store.Micros(r.clock.Now())
	rows, err := r.db.Query(ctx, `SELECT id, team_id, next_poll_at FROM connectors WHERE enabled = ? AND next_poll_at <= ?
		AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_poll_at LIMIT 20`, true, now, now)
	if err != nil {
		return err
	}
	type due struct {
		id, team string
		at       int64
	}
	var ds []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.team, &d.at); err != nil {
			rows.Close()
			return err
		}
		ds = append(ds, d)
	}
	rows.Close()
	for _, d := range ds {
		res, err := r.db.Exec(ctx, `UPDATE connectors SET claimed_by = ?, claimed_until = ? WHERE id = ? AND (claimed_until IS NULL OR claimed_until < ?)`,
			r.opt.InstanceID, store.Micros(r.clock.Now().Add(lease)), d.id, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another instance polls it
		}
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		r.poll(pctx, d.team, d.id, store.FromMicros(d.at))
		cancel()
	}
	return nil
}

// poll reads one connector's changes and records how it went. Its errors
// are the connector's health, not the runner's.
func (r *Runner) poll(ctx context.Context, teamID, id string, due time.Time) {
	c, src, err := r.svc.Source(ctx, teamID, id)
	var read, created int
	var wm *time.Time
	if err == nil {
		read, created, wm, err = r.read(ctx, c, src)
	}
	now := r.clock.Now()
	// The next poll is an interval after this one was due, not after it
	// ended, so polls keep their rhythm instead of drifting by the time a
	// poll takes; one that fell behind (disabled, an outage) polls again
	// at the next chance, once.
	next := store.Micros(due.Add(time.Duration(max(c.PollSeconds, 1)) * time.Second))
	if next < store.Micros(now) {
		next = store.Micros(now)
	}
	q := `UPDATE connectors SET claimed_by = '', claimed_until = NULL, next_poll_at = ?, last_poll_at = ?, read_count = read_count + ?, created_count = created_count + ?`
	args := []any{next, store.Micros(now), read, created}
	if wm != nil {
		q += `, watermark = ?`
		args = append(args, store.Micros(*wm))
	}
	if err != nil {
		q += `, last_error = ?, last_error_at = ?`
		args = append(args, plain(err), store.Micros(now))
		r.log.Warn("connector poll failed", "connector_id", id, "err", err)
	} else {
		q += `, last_error = '', last_success_at = ?`
		args = append(args, store.Micros(now))
	}
	if _, uerr := r.db.Exec(context.WithoutCancel(ctx), q+` WHERE id = ?`, append(args, id)...); uerr != nil {
		r.log.Error("record connector poll", "connector_id", id, "err", uerr)
	}
}

// read applies the source's changes since the watermark. The watermark
// moves only past items fully handled, so a failure mid-way reads the
// rest again next time, and nothing is skipped.
func (r *Runner) read(ctx context.Context, c Connector, src Source) (read, created int, wm *time.Time, err error) {
	since := r.clock.Now().Add(-firstLookBack)
	if c.Health.Watermark != nil {
		since = *c.Health.Watermark
	}
	items, err := src.Changes(ctx, since)
	if err != nil {
		return 0, 0, nil, err
	}
	tm, err := r.teams.Team(ctx, c.TeamID)
	if err != nil {
		return 0, 0, nil, err
	}
	for _, it := range items {
		opened, err := r.apply(ctx, c, tm, src, it)
		if err != nil {
			return read, created, wm, fmt.Errorf("incident %s: %w", it.ExternalID, err)
		}
		read++
		if opened {
			created++
		}
		if wm == nil || it.Modified.After(*wm) {
			m := it.Modified
			wm = &m
		}
	}
	if created > 0 {
		r.opt.Wake()
	}
	return read, created, wm, nil
}

type link struct {
	alertID, status, owner string
	modified               *int64
}

func (r *Runner) link(ctx context.Context, connectorID, externalID string) (link, bool, error) {
	var l link
	err := r.db.QueryRow(ctx, `SELECT alert_id, remote_status, remote_owner, last_modified FROM connector_items WHERE connector_id = ? AND external_id = ?`,
		connectorID, externalID).Scan(&l.alertID, &l.status, &l.owner, &l.modified)
	if errors.Is(err, sql.ErrNoRows) {
		return link{}, false, nil
	}
	return l, err == nil, err
}

// apply handles one changed item: a new one opens an alert; a known one
// carries its changes over (closed there, closed here).
func (r *Runner) apply(ctx context.Context, c Connector, tm team.Team, src Source, it Item) (bool, error) {
	l, known, err := r.link(ctx, c.ID, it.ExternalID)
	if err != nil {
		return false, err
	}
	if !known {
		return r.open(ctx, c, tm, src, it)
	}
	if l.modified != nil && !it.Modified.After(store.FromMicros(*l.modified)) {
		return false, nil // seen already (or our own write-back read back)
	}
	if err := r.follow(ctx, c, l, it); err != nil {
		return false, err
	}
	_, err = r.db.Exec(ctx, `UPDATE connector_items SET remote_status = ?, remote_owner = ?, last_modified = ? WHERE connector_id = ? AND external_id = ?`,
		it.Status, it.Owner, store.Micros(it.Modified), c.ID, it.ExternalID)
	return false, err
}

// open opens an alert for a new item that passes the connector's filters,
// links it, and queues the label write-back.
func (r *Runner) open(ctx context.Context, c Connector, tm team.Team, src Source, it Item) (bool, error) {
	if !it.Open || it.Status == "closed" || it.Status == "redirected" {
		return false, nil
	}
	if err := src.Enrich(ctx, &it); err != nil {
		r.log.Warn("connector could not enrich an incident", "connector_id", c.ID, "incident", it.ExternalID, "err", err)
		it.Params = append(it.Params, ingest.Param{Name: "Enrichment", Value: "not available: " + plain(err)})
	}
	ev := ingest.Event{Title: it.Title, Text: it.Text, Params: it.Params, ExternalID: it.ExternalID, Action: ingest.ActionNew,
		Severity: it.Severity, SourceSystem: c.Name}
	raw := it.Raw
	if len(raw) == 0 {
		raw, _ = json.Marshal(it.Params)
	}
	out, err := r.alerts.Ingest(ctx, alert.Inbound{Team: tm, Event: &ev, Attachments: it.Attachments,
		Raw: alert.Raw{Source: "connector", ContentType: "application/json", Headers: map[string]string{"X-Lastmile-Connector": c.Name}, Body: raw}})
	if err != nil {
		return false, err
	}
	if out.AlertID == "" {
		return false, nil // filtered by the team's categories
	}
	now := store.Micros(r.clock.Now())
	err = r.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO connector_items (connector_id, external_id, alert_id, remote_status, remote_owner, group_id, last_modified, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connector_id, external_id) DO NOTHING`,
			c.ID, it.ExternalID, out.AlertID, it.Status, it.Owner, it.Group, store.Micros(it.Modified), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		// The alert's "created" entry was written before the link existed:
		// queue its write-back (the label) and its log record here.
		_, err = tx.Exec(ctx, `INSERT INTO connector_writebacks (connector_id, timeline_id, alert_id, external_id, kind, due_at, created_at)
			SELECT ?, id, alert_id, ?, 'created', ?, ? FROM timeline WHERE alert_id = ? AND kind = 'created' ORDER BY id LIMIT 1`,
			c.ID, it.ExternalID, now, now, out.AlertID)
		return err
	})
	return err == nil && out.Status == alert.EventCreated, err
}

// follow carries a change made at the source over to the linked alert.
// These changes are the source's, so they are not written back again.
func (r *Runner) follow(ctx context.Context, c Connector, l link, it Item) error {
	a, err := r.alerts.Get(ctx, l.alertID)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return nil
		}
		return err
	}
	all := func(string) bool { return true }
	actor := alert.Actor{Type: "system", Name: c.Name}
	ignoreConflict := func(err error) error {
		if apperr.KindOf(err) == apperr.Conflict {
			return nil // it got there first in lastmile: nothing to carry over
		}
		return err
	}
	switch {
	case it.Status == "redirected" && it.RedirectTo != "":
		// Merged into another incident: follow the survivor from now on.
		if _, err := r.db.Exec(ctx, `UPDATE connector_items SET external_id = ? WHERE connector_id = ? AND external_id = ?
			AND NOT EXISTS (SELECT 1 FROM connector_items x WHERE x.connector_id = ? AND x.external_id = ?)`,
			it.RedirectTo, c.ID, it.ExternalID, c.ID, it.RedirectTo); err != nil {
			return err
		}
		_, err := r.alerts.Annotate(ctx, a.ID, actor, fmt.Sprintf("Incident %s was merged into incident %s; following that one now.", it.ExternalID, it.RedirectTo), all)
		return err
	case it.Status == "closed" && a.Status != alert.StatusClosed:
		_, err := r.alerts.Transition(ctx, a.ID, "close", actor, "closed in "+c.Name+byOwner(it.Owner), all)
		return ignoreConflict(err)
	case it.Status != "closed" && l.status == "closed" && a.Status == alert.StatusClosed:
		_, err := r.alerts.Transition(ctx, a.ID, "undo-close", actor, "reopened in "+c.Name, all)
		return ignoreConflict(err)
	case it.Status == "active" && it.Owner != "" && it.Owner != l.owner && a.Status == alert.StatusNew:
		_, err := r.alerts.Transition(ctx, a.ID, "acknowledge", alert.Actor{Type: "system", Name: c.Name + ": " + it.Owner},
			"taken in "+c.Name+byOwner(it.Owner), all)
		return ignoreConflict(err)
	}
	return nil
}

func byOwner(owner string) string {
	if owner == "" {
		return ""
	}
	return " by " + owner
}

// plain is an error's message for administrators.
func plain(err error) string {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		return e.Message
	}
	return err.Error()
}
