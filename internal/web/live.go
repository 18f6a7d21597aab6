package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
)

// The live-update hub. One goroutine per server watches the timeline table:
// every change to an alert (opened, notified, acknowledged, annotated,
// closed, …) appends to it, so new timeline rows are exactly "alerts that
// changed". Reading the table rather than listening in-process makes it work
// across several lastmile instances sharing one database; poke() only makes
// this instance look at once instead of at the next tick.

const (
	// livePoll is how often the hub looks for changes made elsewhere.
	livePoll = time.Second
	// liveBatch bounds one read; a busier second is read in several.
	liveBatch = 500
	// liveMaxPerUser bounds a user's open streams (tabs, devices).
	liveMaxPerUser = 10
	// livePendingMax bounds what a slow subscriber holds: beyond it the
	// page is just told to reload, which it does anyway.
	livePendingMax = 100
	// liveGapMax and liveGapAge bound the ids the hub waits for (see
	// cursor.gaps).
	liveGapMax = 1000
	liveGapAge = time.Minute
)

// errTooManyStreams refuses a subscriber beyond liveMaxPerUser.
var errTooManyStreams = errors.New("too many live connections for this user")

// errHubStopped refuses a subscriber once the hub has stopped.
var errHubStopped = errors.New("live updates have stopped")

// change is one alert that changed.
type change struct {
	alertID, teamID string
}

type hub struct {
	db    *store.DB
	clock clock.Clock
	log   *slog.Logger
	// every is the polling interval (tests shorten it before run).
	every time.Duration
	// heartbeat is the streams' keep-alive interval in nanoseconds (tests
	// shorten it while the server runs).
	heartbeat atomic.Int64
	wake      chan struct{}
	// started is closed once the hub knows where the timeline stands:
	// changes after that reach every stream.
	started chan struct{}
	// done is closed when run returns, ending every stream.
	done chan struct{}

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	perUser map[string]int
	stopped bool
}

func newHub(db *store.DB, c clock.Clock, log *slog.Logger) *hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &hub{db: db, clock: c, log: log, every: livePoll, wake: make(chan struct{}, 1),
		started: make(chan struct{}), done: make(chan struct{}),
		subs: map[*subscriber]struct{}{}, perUser: map[string]int{}}
	h.heartbeat.Store(int64(sseHeartbeat))
	return h
}

// poke makes the hub look for changes now. It never blocks: pokes while a
// look is pending are one look.
func (h *hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run watches for changes until ctx ends, then ends every stream.
func (h *hub) run(ctx context.Context) {
	defer func() {
		h.mu.Lock()
		h.stopped = true
		h.mu.Unlock()
		close(h.done)
	}()
	var cur cursor
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	for {
		if err := h.look(ctx, &cur); err != nil && ctx.Err() == nil {
			h.log.Warn("live updates could not read changes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.wake:
		}
	}
}

// cursor is how far the hub has read the timeline.
type cursor struct {
	started bool
	last    int64
	// gaps are ids below last not seen yet. On PostgreSQL an identity value
	// is taken when a row is inserted but becomes visible at commit, so a
	// slower transaction can show up below ids already read; the hub asks
	// for such ids again for liveGapAge (a rolled-back insert never shows).
	gaps map[int64]time.Time
}

// look reads the timeline rows added since the last look and fans them out.
func (h *hub) look(ctx context.Context, cur *cursor) error {
	if !cur.started {
		// Start from now: streams opened later re-read their page, so
		// history is never replayed.
		var max *int64
		if err := h.db.QueryRow(ctx, `SELECT MAX(id) FROM timeline`).Scan(&max); err != nil {
			return fmt.Errorf("read timeline position: %w", err)
		}
		if max != nil {
			cur.last = *max
		}
		cur.started, cur.gaps = true, map[int64]time.Time{}
		close(h.started)
		return nil
	}
	var changes []change
	if len(cur.gaps) > 0 {
		ids := make([]int64, 0, len(cur.gaps))
		for id := range cur.gaps {
			ids = append(ids, id)
		}
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		got, err := h.read(ctx, `t.id IN (`+store.Placeholders(len(ids))+`)`, args...)
		if err != nil {
			return err
		}
		for _, r := range got {
			delete(cur.gaps, r.id)
			changes = append(changes, r.change)
		}
		now := h.clock.Now()
		for id, since := range cur.gaps {
			if now.Sub(since) > liveGapAge {
				delete(cur.gaps, id)
			}
		}
	}
	for {
		got, err := h.read(ctx, `t.id > ?`, cur.last)
		if err != nil {
			return err
		}
		now := h.clock.Now()
		for _, r := range got {
			for id := cur.last + 1; id < r.id && len(cur.gaps) < liveGapMax; id++ {
				cur.gaps[id] = now
			}
			cur.last = r.id
			changes = append(changes, r.change)
		}
		if len(got) < liveBatch {
			break
		}
	}
	if len(changes) > 0 {
		h.fanOut(changes)
	}
	return nil
}

type timelineRow struct {
	id int64
	change
}

func (h *hub) read(ctx context.Context, cond string, args ...any) ([]timelineRow, error) {
	rows, err := h.db.Query(ctx, `SELECT t.id, t.alert_id, a.team_id FROM timeline t JOIN alerts a ON a.id = t.alert_id
		WHERE `+cond+fmt.Sprintf(` ORDER BY t.id LIMIT %d`, liveBatch), args...)
	if err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	defer rows.Close()
	var out []timelineRow
	for rows.Next() {
		var r timelineRow
		if err := rows.Scan(&r.id, &r.alertID, &r.teamID); err != nil {
			return nil, fmt.Errorf("read timeline: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (h *hub) fanOut(changes []change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		sub.offer(changes)
	}
}

// subscribe adds a stream for the user. alertID limits it to one alert;
// teams are the teams whose alerts it may hear of (nil: all).
func (h *hub) subscribe(userID, alertID string, teams []string) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, errHubStopped
	}
	if h.perUser[userID] >= liveMaxPerUser {
		return nil, errTooManyStreams
	}
	sub := &subscriber{userID: userID, alertID: alertID, ready: make(chan struct{}, 1), pending: map[string]string{}}
	sub.setTeams(teams)
	h.subs[sub] = struct{}{}
	h.perUser[userID]++
	return sub, nil
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	if h.perUser[sub.userID]--; h.perUser[sub.userID] <= 0 {
		delete(h.perUser, sub.userID)
	}
}

// subscriber is one open stream. The hub adds what it may hear of to
// pending and signals ready; the stream takes the lot, so a burst of changes
// is one event.
type subscriber struct {
	userID  string
	alertID string
	ready   chan struct{}

	mu       sync.Mutex
	teams    map[string]bool // nil: every team
	pending  map[string]string
	overflow bool
}

// setTeams changes what the subscriber may hear of (roles change while a
// stream is open).
func (s *subscriber) setTeams(teams []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if teams == nil {
		s.teams = nil
		return
	}
	s.teams = make(map[string]bool, len(teams))
	for _, t := range teams {
		s.teams[t] = true
	}
}

// offer keeps the changes this subscriber may hear of: never another
// team's alert.
func (s *subscriber) offer(changes []change) {
	s.mu.Lock()
	added := false
	for _, c := range changes {
		if s.alertID != "" && c.alertID != s.alertID {
			continue
		}
		if s.teams != nil && !s.teams[c.teamID] {
			continue
		}
		added = true
		if len(s.pending) >= livePendingMax {
			s.overflow = true
			continue
		}
		s.pending[c.alertID] = c.teamID
	}
	s.mu.Unlock()
	if added {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// liveEvent is what a stream sends: the alerts that changed, and their
// teams. More says there were too many to list.
type liveEvent struct {
	Alerts []string `json:"alerts"`
	Teams  []string `json:"teams"`
	More   bool     `json:"more,omitempty"`
}

// take returns and clears what is pending.
func (s *subscriber) take() (liveEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 && !s.overflow {
		return liveEvent{}, false
	}
	ev := liveEvent{Alerts: []string{}, Teams: []string{}, More: s.overflow}
	teams := map[string]bool{}
	for a, t := range s.pending {
		ev.Alerts = append(ev.Alerts, a)
		if !teams[t] {
			teams[t] = true
			ev.Teams = append(ev.Teams, t)
		}
	}
	sort.Strings(ev.Alerts)
	sort.Strings(ev.Teams)
	s.pending, s.overflow = map[string]string{}, false
	return ev, true
}
