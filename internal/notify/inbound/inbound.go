// Package inbound acts on what recipients answer through a channel (a
// signed link or button, a keypress, an SMS reply) and on providers'
// delivery reports. Channels check the provider's signature; this package
// decides what the answer means and does it as the member it was for.
package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Service implements notify.Inbound.
type Service struct {
	db     *store.DB
	alerts *alert.Service
	teams  *team.Service
	tokens *action.Tokens
	clock  clock.Clock
	log    *slog.Logger
}

var _ notify.Inbound = (*Service)(nil)

// New returns the service.
func New(db *store.DB, alerts *alert.Service, teams *team.Service, tokens *action.Tokens, c clock.Clock, log *slog.Logger) *Service {
	return &Service{db: db, alerts: alerts, teams: teams, tokens: tokens, clock: c, log: log}
}

// Redeem performs a signed action token once.
func (s *Service) Redeem(ctx context.Context, token, note string) (notify.Result, error) {
	c, err := s.tokens.Parse(token)
	if err != nil {
		return notify.Result{}, apperr.New(apperr.Forbidden, "%v", err)
	}
	if err := s.tokens.Spend(ctx, c); errors.Is(err, action.ErrUsed) {
		return notify.Result{}, apperr.New(apperr.Conflict, "%v", err)
	} else if err != nil {
		return notify.Result{}, err
	}
	res, err := s.perform(ctx, c.AlertID, c.UserID, c.Action, note)
	if err != nil && apperr.KindOf(err) == apperr.Internal {
		// Not the member's fault: let the same link work again.
		if uerr := s.tokens.Unspend(ctx, c); uerr != nil {
			s.log.Warn("give back action token", "err", uerr)
		}
	}
	return res, err
}

// Respond performs an action for the recipient of a notification. For a
// bundle it acts on every alert the message carried.
func (s *Service) Respond(ctx context.Context, notificationID, act, note string) (notify.Result, error) {
	rows, err := s.db.Query(ctx, `SELECT alert_id, user_id FROM notifications WHERE id = ? OR bundled_into = ? ORDER BY id`, notificationID, notificationID)
	if err != nil {
		return notify.Result{}, fmt.Errorf("read notification: %w", err)
	}
	type target struct{ alertID, userID string }
	var ts []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.alertID, &t.userID); err != nil {
			rows.Close()
			return notify.Result{}, err
		}
		ts = append(ts, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return notify.Result{}, err
	}
	if len(ts) == 0 {
		return notify.Result{}, apperr.New(apperr.NotFound, "this notification is not known")
	}
	if len(ts) == 1 {
		return s.perform(ctx, ts[0].alertID, ts[0].userID, act, note)
	}
	done := 0
	var last notify.Result
	var lastErr error
	for _, t := range ts {
		res, err := s.perform(ctx, t.alertID, t.userID, act, note)
		if err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				return notify.Result{}, err
			}
			lastErr = err
			continue
		}
		done++
		last = res
	}
	if done == 0 {
		return last, lastErr
	}
	last.Message = fmt.Sprintf("%s %d alerts", strings.ToUpper(past(act)[:1])+past(act)[1:], done)
	return last, nil
}

// perform does act on an alert as userID, who must still be a member of
// the alert's team.
func (s *Service) perform(ctx context.Context, alertID, userID, act, note string) (notify.Result, error) {
	u, err := s.teams.User(ctx, userID)
	if err != nil {
		return notify.Result{}, apperr.New(apperr.Forbidden, "the member this message was for no longer exists")
	}
	a, err := s.alerts.Get(ctx, alertID)
	if err != nil {
		return notify.Result{}, err
	}
	res := notify.Result{AlertID: alertID, Title: a.Title, Action: act}
	member := func(teamID string) bool {
		_, err := s.teams.Member(ctx, teamID, userID)
		return err == nil
	}
	if !member(a.TeamID) {
		return res, apperr.New(apperr.Forbidden, "you are no longer a member of this alert's team")
	}
	actor := alert.UserActor(u)
	switch act {
	case action.Acknowledge:
		if a.Status != alert.StatusNew {
			return res, apperr.New(apperr.Conflict, "alert %q is already %s", short(a.Title), a.Status)
		}
		_, err = s.alerts.Transition(ctx, alertID, "acknowledge", actor, note, member)
		res.Message = fmt.Sprintf("Acknowledged: %s", short(a.Title))
	case action.Close:
		if a.Status == alert.StatusClosed {
			return res, apperr.New(apperr.Conflict, "alert %q is already closed", short(a.Title))
		}
		_, err = s.alerts.Transition(ctx, alertID, "close", actor, note, member)
		res.Message = fmt.Sprintf("Closed: %s", short(a.Title))
	case action.Escalate:
		if a.Status != alert.StatusNew {
			return res, apperr.New(apperr.Conflict, "alert %q is already %s", short(a.Title), a.Status)
		}
		_, err = s.alerts.EscalateNow(ctx, alertID, actor, member)
		res.Message = fmt.Sprintf("Escalating: %s", short(a.Title))
	default:
		return res, apperr.New(apperr.Invalid, "unknown action %q", act)
	}
	if err != nil {
		return res, err
	}
	return res, nil
}

// short cuts a title for replies that must stay one SMS long.
func short(s string) string {
	if r := []rune(s); len(r) > 60 {
		return strings.TrimSpace(string(r[:57])) + "…"
	}
	return s
}

// Peeked is what a valid, unspent token would do, for a page that asks
// to confirm.
type Peeked struct {
	AlertID, Action, Title string
}

// Peek checks a token without spending it and says what it would do.
func (s *Service) Peek(ctx context.Context, token string) (Peeked, error) {
	c, err := s.tokens.Parse(token)
	if err != nil {
		return Peeked{}, apperr.New(apperr.Forbidden, "%v", err)
	}
	if used, err := s.tokens.Used(ctx, c); err != nil {
		return Peeked{}, err
	} else if used {
		return Peeked{}, apperr.New(apperr.Conflict, "%v", action.ErrUsed)
	}
	a, err := s.alerts.Get(ctx, c.AlertID)
	if err != nil {
		return Peeked{}, err
	}
	// Say now what the POST would answer, rather than offer a button
	// that cannot work.
	if _, err := s.teams.Member(ctx, a.TeamID, c.UserID); err != nil {
		return Peeked{}, apperr.New(apperr.Forbidden, "you are no longer a member of this alert's team")
	}
	switch {
	case c.Action == action.Close && a.Status == alert.StatusClosed:
		return Peeked{}, apperr.New(apperr.Conflict, "alert %q is already closed", short(a.Title))
	case c.Action != action.Close && a.Status != alert.StatusNew:
		return Peeked{}, apperr.New(apperr.Conflict, "alert %q is already %s", short(a.Title), a.Status)
	}
	return Peeked{AlertID: a.ID, Action: c.Action, Title: a.Title}, nil
}
