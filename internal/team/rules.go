package team

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// AlertSettings say how a team's alerts escalate and repeat. Zero turns a
// setting off.
type AlertSettings struct {
	// TargetResponseSeconds: an alert nobody acknowledged in this time
	// escalates to the next tier, then to the manager on duty.
	TargetResponseSeconds int `json:"targetResponseSeconds"`
	// RepeatEverySeconds and RepeatLimit: persistent notification of an
	// unacknowledged alert.
	RepeatEverySeconds int `json:"repeatEverySeconds"`
	RepeatLimit        int `json:"repeatLimit"`
	// AckTimeoutSeconds: an acknowledged alert not closed in this time is
	// notified again.
	AckTimeoutSeconds int `json:"ackTimeoutSeconds"`
}

const week = 7 * 24 * 3600

func (a AlertSettings) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"targetResponseSeconds", a.TargetResponseSeconds}, {"repeatEverySeconds", a.RepeatEverySeconds}, {"ackTimeoutSeconds", a.AckTimeoutSeconds}} {
		if f.v != 0 && (f.v < 60 || f.v > week) {
			return apperr.New(apperr.Invalid, "%s %d: use 0 (off) or 60 to %d seconds", f.name, f.v, week)
		}
	}
	if a.RepeatLimit < 0 || a.RepeatLimit > 100 {
		return apperr.New(apperr.Invalid, "repeatLimit %d: use 0 to 100", a.RepeatLimit)
	}
	if a.RepeatLimit > 0 && a.RepeatEverySeconds == 0 {
		return apperr.New(apperr.Invalid, "repeatLimit needs repeatEverySeconds")
	}
	return nil
}

// AlertSettings returns the team's settings.
func (s *Service) AlertSettings(ctx context.Context, teamID string) (AlertSettings, error) {
	var a AlertSettings
	err := s.db.QueryRow(ctx, `SELECT target_response_seconds, repeat_every_seconds, repeat_limit, ack_timeout_seconds FROM teams WHERE id = ?`, teamID).
		Scan(&a.TargetResponseSeconds, &a.RepeatEverySeconds, &a.RepeatLimit, &a.AckTimeoutSeconds)
	if err != nil {
		return AlertSettings{}, store.NotFound(err, "team "+teamID)
	}
	return a, nil
}

// SetAlertSettings replaces the team's settings.
func (s *Service) SetAlertSettings(ctx context.Context, teamID string, a AlertSettings) (AlertSettings, error) {
	if err := a.validate(); err != nil {
		return AlertSettings{}, err
	}
	res, err := s.db.Exec(ctx, `UPDATE teams SET target_response_seconds = ?, repeat_every_seconds = ?, repeat_limit = ?, ack_timeout_seconds = ? WHERE id = ?`,
		a.TargetResponseSeconds, a.RepeatEverySeconds, a.RepeatLimit, a.AckTimeoutSeconds, teamID)
	if err != nil {
		return AlertSettings{}, fmt.Errorf("set alert settings: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return AlertSettings{}, apperr.New(apperr.NotFound, "team %s not found", teamID)
	}
	return a, nil
}

// TeamRule is a team's default: reach members on Channel after Delay.
type TeamRule struct {
	Channel      string `json:"channel"`
	DelaySeconds int    `json:"delaySeconds"`
}

// UserRule is a member's own rule: use a contact method after a delay.
type UserRule struct {
	ContactMethodID string `json:"contactMethodId"`
	DelaySeconds    int    `json:"delaySeconds"`
	Channel         string `json:"channel,omitempty"` // filled in when read
	Address         string `json:"address,omitempty"`
}

const maxRules = 20

func validDelay(i, d int) error {
	if d < 0 || d > 24*3600 {
		return apperr.New(apperr.Invalid, "rule %d: delaySeconds %d: use 0 to 86400", i+1, d)
	}
	return nil
}

// TeamRules returns the team's default rules, by delay.
func (s *Service) TeamRules(ctx context.Context, teamID string) ([]TeamRule, error) {
	rows, err := s.db.Query(ctx, `SELECT channel, delay_seconds FROM team_notification_rules WHERE team_id = ? ORDER BY delay_seconds, position`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list team rules: %w", err)
	}
	defer rows.Close()
	out := []TeamRule{}
	for rows.Next() {
		var r TeamRule
		if err := rows.Scan(&r.Channel, &r.DelaySeconds); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetTeamRules replaces the team's default rules.
func (s *Service) SetTeamRules(ctx context.Context, teamID string, rules []TeamRule) ([]TeamRule, error) {
	if len(rules) > maxRules {
		return nil, apperr.New(apperr.Invalid, "at most %d rules", maxRules)
	}
	for i, r := range rules {
		if !slices.Contains(channels, r.Channel) {
			return nil, apperr.New(apperr.Invalid, "rule %d: channel %q: use one of %v", i+1, r.Channel, channels)
		}
		if err := validDelay(i, r.DelaySeconds); err != nil {
			return nil, err
		}
	}
	if _, err := s.Team(ctx, teamID); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM team_notification_rules WHERE team_id = ?`, teamID); err != nil {
			return err
		}
		for i, r := range rules {
			if _, err := tx.Exec(ctx, `INSERT INTO team_notification_rules (team_id, position, channel, delay_seconds) VALUES (?, ?, ?, ?)`, teamID, i, r.Channel, r.DelaySeconds); err != nil {
				return fmt.Errorf("insert team rule: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.TeamRules(ctx, teamID)
}

// UserRules returns the member's own rules, by delay.
func (s *Service) UserRules(ctx context.Context, userID string) ([]UserRule, error) {
	rows, err := s.db.Query(ctx, `SELECT r.contact_method_id, r.delay_seconds, c.channel, c.address FROM user_notification_rules r
		JOIN contact_methods c ON c.id = r.contact_method_id WHERE r.user_id = ? ORDER BY r.delay_seconds, r.position`, userID)
	if err != nil {
		return nil, fmt.Errorf("list user rules: %w", err)
	}
	defer rows.Close()
	out := []UserRule{}
	for rows.Next() {
		var r UserRule
		if err := rows.Scan(&r.ContactMethodID, &r.DelaySeconds, &r.Channel, &r.Address); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetUserRules replaces the member's own rules; an empty list falls back to
// the team defaults.
func (s *Service) SetUserRules(ctx context.Context, userID string, rules []UserRule) ([]UserRule, error) {
	if len(rules) > maxRules {
		return nil, apperr.New(apperr.Invalid, "at most %d rules", maxRules)
	}
	cms, err := s.ContactMethods(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i, r := range rules {
		if !slices.ContainsFunc(cms, func(c ContactMethod) bool { return c.ID == r.ContactMethodID }) {
			return nil, apperr.New(apperr.Invalid, "rule %d: contact method %q is not one of this user's", i+1, r.ContactMethodID)
		}
		if err := validDelay(i, r.DelaySeconds); err != nil {
			return nil, err
		}
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM user_notification_rules WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for i, r := range rules {
			if _, err := tx.Exec(ctx, `INSERT INTO user_notification_rules (user_id, position, contact_method_id, delay_seconds) VALUES (?, ?, ?, ?)`, userID, i, r.ContactMethodID, r.DelaySeconds); err != nil {
				return fmt.Errorf("insert user rule: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.UserRules(ctx, userID)
}

// EffectiveRule is one step of reaching a member for an alert of a team.
type EffectiveRule struct {
	ContactMethodID string        `json:"contactMethodId"`
	Channel         string        `json:"channel"`
	Address         string        `json:"address"`
	Delay           time.Duration `json:"-"`
	DelaySeconds    int           `json:"delaySeconds"`
	TeamDefault     bool          `json:"teamDefault"`
}

// RulesFor returns how to reach the member for the team's alerts: their own
// rules if they have any; else the team's rules applied to their contact
// methods of each rule's channel; else every contact method at once.
func (s *Service) RulesFor(ctx context.Context, teamID, userID string) ([]EffectiveRule, error) {
	own, err := s.UserRules(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []EffectiveRule{}
	add := func(cmID, channel, address string, delaySeconds int, teamDefault bool) {
		out = append(out, EffectiveRule{ContactMethodID: cmID, Channel: channel, Address: address,
			Delay: time.Duration(delaySeconds) * time.Second, DelaySeconds: delaySeconds, TeamDefault: teamDefault})
	}
	if len(own) > 0 {
		for _, r := range own {
			add(r.ContactMethodID, r.Channel, r.Address, r.DelaySeconds, false)
		}
		return out, nil
	}
	cms, err := s.ContactMethods(ctx, userID)
	if err != nil {
		return nil, err
	}
	defaults, err := s.TeamRules(ctx, teamID)
	if err != nil {
		return nil, err
	}
	if len(defaults) == 0 {
		for _, c := range cms {
			add(c.ID, c.Channel, c.Address, 0, true)
		}
		return out, nil
	}
	for _, r := range defaults {
		for _, c := range cms {
			if c.Channel == r.Channel {
				add(c.ID, c.Channel, c.Address, r.DelaySeconds, true)
			}
		}
	}
	return out, nil
}
