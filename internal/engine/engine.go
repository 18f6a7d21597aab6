// Package engine runs each alert's notification plan from the database:
// it plans whom to notify when an alert opens, sends each message when it
// is due, escalates when nobody acknowledges in time, and stops the moment
// an alert is acknowledged or closed (that transaction cancels what is not
// yet sent).
//
// All state is in tables (alert_engine, notifications), so a restart or a
// crash loses nothing and resumes on time. Every step claims its row with a
// conditional UPDATE before acting, so any number of engines may run on one
// database and each message is still sent once. New alerts wake the engine
// at once; otherwise it looks for due work every poll interval.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Engine runs notification plans.
type Engine struct {
	db       *store.DB
	clock    clock.Clock
	teams    *team.Service
	duty     *duty.Service
	channels *notify.Registry
	log      *slog.Logger
	id       string
	poll     time.Duration
	wake     chan struct{}
	opt      Options
	// more says the last cycle left due work behind (it hit a batch
	// limit), so the next starts at once; only Run's goroutine touches it.
	more bool
	// lastHandoffs is when duty changes were last looked at; only the
	// goroutine running RunOnce touches it.
	lastHandoffs time.Time
}

// Options tune an engine.
type Options struct {
	// InstanceID names this engine in claims (default: a random id).
	InstanceID string
	// Poll is the longest the engine sleeps between looks for due work.
	Poll time.Duration
	// BaseURL is where recipients reach the server, for links in messages.
	BaseURL string
	// Actions signs the acknowledge/close/escalate links of messages.
	Actions ActionIssuer
	// ReplyCodes gives alerts their short codes for SMS replies.
	ReplyCodes ReplyCoder
	// Limits bound messages per contact method (default
	// notify.DefaultLimits).
	Limits notify.Limits
	// Updates, when set, is called for alerts whose status changed so chat
	// messages already sent can show it.
	Updates func(channel string) (notify.Updater, bool)
	// Deliveries, when set, takes delivery reports that arrived before
	// their message's provider id was recorded.
	Deliveries func(ctx context.Context, channel, providerID, status, detail string) error
	// Observe, when set, hears how each send went, so a provider that is
	// failing shows so to administrators.
	Observe func(ctx context.Context, channel string, err error)
}

// ActionIssuer signs an action for the recipient of a notification.
type ActionIssuer interface {
	Issue(notificationID, alertID, userID, action string) string
}

// ReplyCoder returns the code that names an alert in replies from address.
type ReplyCoder interface {
	CodeFor(ctx context.Context, address, alertID, userID string) (string, error)
}

// New returns an engine.
func New(db *store.DB, c clock.Clock, teams *team.Service, duties *duty.Service, channels *notify.Registry, log *slog.Logger, opt Options) *Engine {
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.InstanceID == "" {
		opt.InstanceID = store.NewID()
	}
	if opt.Limits == nil {
		opt.Limits = notify.DefaultLimits()
	}
	return &Engine{db: db, clock: c, teams: teams, duty: duties, channels: channels, log: log, id: opt.InstanceID, poll: opt.Poll, wake: make(chan struct{}, 1), opt: opt}
}

// Wake makes a running engine look for work now (after a new alert).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	for {
		e.more = false
		if err := e.RunOnce(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("engine cycle failed", "err", err)
		}
		if e.more && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-time.After(e.poll):
		}
	}
}

// RunOnce plans new alerts, escalates those due, and sends every message
// due now. Tests drive the engine with it and a fake clock.
func (e *Engine) RunOnce(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		// New alerts are planned and sent first: that is what someone is
		// waiting for. The timers come next, and a second dispatch sends
		// what they planned.
		{"plan", e.planAll},
		{"dispatch", e.dispatchAll},
		{"escalate", e.escalateAll},
		{"ack timeouts", e.ackTimeouts},
		{"duty handoffs", e.handoffs},
		{"come on duty", e.joiners},
		{"dispatch", e.dispatchAll},
		{"status updates", e.updates},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// ids runs a query that selects ids.
func (e *Engine) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := e.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
