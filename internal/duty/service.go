package duty

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Service stores duty plans and answers who is on duty from them.
type Service struct {
	db    *store.DB
	clock clock.Clock
	teams *team.Service
}

// NewService returns a Service.
func NewService(db *store.DB, c clock.Clock, teams *team.Service) *Service {
	return &Service{db: db, clock: c, teams: teams}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// PlannedShift is a stored explicit shift.
type PlannedShift struct {
	ID     string    `json:"id"`
	TeamID string    `json:"teamId"`
	UserID string    `json:"userId"`
	Tier   int       `json:"tier"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// StoredRotation is a stored rotation.
type StoredRotation struct {
	ID           string     `json:"id"`
	TeamID       string     `json:"teamId"`
	Name         string     `json:"name"`
	Tier         int        `json:"tier"`
	TimeZone     string     `json:"timeZone"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	Length       int        `json:"length"`
	Unit         Unit       `json:"unit"`
	Participants []string   `json:"participants"`
	CreatedAt    time.Time  `json:"createdAt"`
}

// StoredOverride is a stored override.
type StoredOverride struct {
	ID       string    `json:"id"`
	TeamID   string    `json:"teamId"`
	FromUser string    `json:"fromUser,omitempty"`
	ToUser   string    `json:"toUser"`
	Tier     int       `json:"tier"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

func invalid(format string, args ...any) error { return apperr.New(apperr.Invalid, format, args...) }

// checkMembers fails unless every user is a member of the team.
func (s *Service) checkMembers(ctx context.Context, teamID string, users ...string) error {
	roles := map[string]bool{}
	ms, err := s.teams.Members(ctx, teamID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		roles[m.UserID] = true
	}
	for _, u := range users {
		if u != "" && !roles[u] {
			return invalid("user %s is not a member of this team", u)
		}
	}
	return nil
}

// notPast refuses plans that would change who was on duty before now.
func (s *Service) notPast(what string, start time.Time) error {
	if now := s.clock.Now(); start.Before(now.Add(-time.Minute)) {
		return invalid("%s starts at %s, in the past: a plan never rewrites who was on duty", what, start.Format(time.RFC3339))
	}
	return nil
}

// AddShifts stores shifts. With replace, existing shifts of the same tier
// that overlap a new one give way: the overlapping part is cut out of them
// (SIGNL4's "override existing").
func (s *Service) AddShifts(ctx context.Context, teamID string, shifts []PlannedShift, replace bool) ([]PlannedShift, error) {
	if len(shifts) == 0 || len(shifts) > 1000 {
		return nil, invalid("send 1 to 1000 shifts")
	}
	var users []string
	for i, sh := range shifts {
		if err := (Plan{Shifts: []Shift{{UserID: sh.UserID, Tier: sh.Tier, Start: sh.Start, End: sh.End}}}).Validate(); err != nil {
			return nil, invalid("shift %d: %s", i+1, strings.TrimPrefix(err.Error(), "shift 1 "))
		}
		if err := s.notPast(fmt.Sprintf("shift %d", i+1), sh.Start); err != nil {
			return nil, err
		}
		users = append(users, sh.UserID)
	}
	if err := s.checkMembers(ctx, teamID, users...); err != nil {
		return nil, err
	}
	out := make([]PlannedShift, len(shifts))
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for i, sh := range shifts {
			if replace {
				if err := s.cutShifts(ctx, tx, teamID, sh.Tier, sh.Start, sh.End); err != nil {
					return err
				}
			}
			sh.ID, sh.TeamID = newID(), teamID
			if _, err := tx.Exec(ctx, `INSERT INTO duty_shifts (id, team_id, user_id, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				sh.ID, teamID, sh.UserID, sh.Tier, micros(sh.Start), micros(sh.End), micros(s.clock.Now())); err != nil {
				return fmt.Errorf("insert shift: %w", err)
			}
			out[i] = sh
		}
		return nil
	})
	return out, err
}

// cutShifts removes [from, to) from the team's shifts at tier.
func (s *Service) cutShifts(ctx context.Context, tx *store.Tx, teamID string, tier int, from, to time.Time) error {
	rows, err := tx.Query(ctx, `SELECT id, user_id, start_at, end_at FROM duty_shifts WHERE team_id = ? AND tier = ? AND start_at < ? AND end_at > ?`,
		teamID, tier, micros(to), micros(from))
	if err != nil {
		return fmt.Errorf("find overlapping shifts: %w", err)
	}
	type hit struct {
		id, user   string
		start, end int64
	}
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.user, &h.start, &h.end); err != nil {
			rows.Close()
			return err
		}
		hits = append(hits, h)
	}
	rows.Close()
	f, t := micros(from), micros(to)
	for _, h := range hits {
		if _, err := tx.Exec(ctx, `DELETE FROM duty_shifts WHERE id = ?`, h.id); err != nil {
			return err
		}
		for _, part := range [][2]int64{{h.start, f}, {t, h.end}} {
			if part[1] > part[0] {
				if _, err := tx.Exec(ctx, `INSERT INTO duty_shifts (id, team_id, user_id, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					newID(), teamID, h.user, tier, part[0], part[1], micros(s.clock.Now())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Shifts lists the team's explicit shifts that overlap [from, to).
func (s *Service) Shifts(ctx context.Context, teamID string, from, to time.Time) ([]PlannedShift, error) {
	rows, err := s.db.Query(ctx, `SELECT id, team_id, user_id, tier, start_at, end_at FROM duty_shifts WHERE team_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, tier, id`,
		teamID, micros(to), micros(from))
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	defer rows.Close()
	out := []PlannedShift{}
	for rows.Next() {
		var sh PlannedShift
		var st, en int64
		if err := rows.Scan(&sh.ID, &sh.TeamID, &sh.UserID, &sh.Tier, &st, &en); err != nil {
			return nil, err
		}
		sh.Start, sh.End = fromMicros(st), fromMicros(en)
		out = append(out, sh)
	}
	return out, rows.Err()
}

// endNow ends a plan item of table at now: an item that has not begun is
// deleted, one in progress is cut, one that is over cannot change.
func (s *Service) endNow(ctx context.Context, table, teamID, id string) error {
	now := micros(s.clock.Now())
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var start int64
		var end *int64
		err := tx.QueryRow(ctx, `SELECT start_at, end_at FROM `+table+` WHERE id = ? AND team_id = ?`, id, teamID).Scan(&start, &end)
		if err != nil {
			return store.NotFound(err, strings.TrimSuffix(table, "s")+" "+id)
		}
		switch {
		case end != nil && *end <= now:
			return apperr.New(apperr.Conflict, "it ended in the past; a plan never rewrites who was on duty")
		case start >= now:
			_, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		default:
			_, err = tx.Exec(ctx, `UPDATE `+table+` SET end_at = ? WHERE id = ?`, now, id)
		}
		return err
	})
}

// DeleteShift removes a shift that has not begun and cuts one in progress.
func (s *Service) DeleteShift(ctx context.Context, teamID, id string) error {
	return s.endNow(ctx, "duty_shifts", teamID, id)
}

// NewRotation is what creating a rotation takes.
type NewRotation struct {
	Name         string     `json:"name"`
	Tier         int        `json:"tier"`
	TimeZone     string     `json:"timeZone"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end"`
	Length       int        `json:"length"`
	Unit         Unit       `json:"unit"`
	Participants []string   `json:"participants"`
}

// CreateRotation stores a rotation. Its start may lie in the past (it
// anchors the handoffs), but it puts nobody on duty before now.
func (s *Service) CreateRotation(ctx context.Context, teamID string, nr NewRotation) (StoredRotation, error) {
	l, err := time.LoadLocation(nr.TimeZone)
	if err != nil || nr.TimeZone == "" || nr.TimeZone == "Local" {
		return StoredRotation{}, invalid("time zone %q is not an IANA time zone name (for example Europe/Berlin)", nr.TimeZone)
	}
	r := Rotation{Tier: nr.Tier, Location: l, Start: nr.Start, Length: nr.Length, Unit: nr.Unit, Participants: nr.Participants}
	if nr.End != nil {
		r.End = *nr.End
	}
	if nr.Start.IsZero() {
		return StoredRotation{}, invalid("rotation needs a start (its first handoff)")
	}
	if err := r.Validate(); err != nil {
		return StoredRotation{}, invalid("rotation: %s", err)
	}
	if err := s.checkMembers(ctx, teamID, nr.Participants...); err != nil {
		return StoredRotation{}, err
	}
	now := s.clock.Now()
	sr := StoredRotation{ID: newID(), TeamID: teamID, Name: strings.TrimSpace(nr.Name), Tier: nr.Tier, TimeZone: nr.TimeZone, Start: nr.Start.UTC(),
		End: nr.End, Length: nr.Length, Unit: nr.Unit, Participants: nr.Participants, CreatedAt: now}
	var end any
	if nr.End != nil {
		end = micros(*nr.End)
	}
	parts, _ := json.Marshal(nr.Participants)
	_, err = s.db.Exec(ctx, `INSERT INTO rotations (id, team_id, name, tier, time_zone, start_at, end_at, length, unit, participants, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sr.ID, teamID, sr.Name, sr.Tier, sr.TimeZone, micros(sr.Start), end, sr.Length, string(sr.Unit), string(parts), micros(now))
	if err != nil {
		return StoredRotation{}, fmt.Errorf("insert rotation: %w", err)
	}
	return sr, nil
}

// Rotations lists the team's rotations, ended ones included.
func (s *Service) Rotations(ctx context.Context, teamID string) ([]StoredRotation, error) {
	rows, err := s.db.Query(ctx, `SELECT id, team_id, name, tier, time_zone, start_at, end_at, length, unit, participants, created_at FROM rotations WHERE team_id = ? ORDER BY tier, created_at`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list rotations: %w", err)
	}
	defer rows.Close()
	out := []StoredRotation{}
	for rows.Next() {
		var r StoredRotation
		var st, created int64
		var end *int64
		var parts, unit string
		if err := rows.Scan(&r.ID, &r.TeamID, &r.Name, &r.Tier, &r.TimeZone, &st, &end, &r.Length, &unit, &parts, &created); err != nil {
			return nil, err
		}
		r.Start, r.CreatedAt, r.Unit = fromMicros(st), fromMicros(created), Unit(unit)
		if end != nil {
			e := fromMicros(*end)
			r.End = &e
		}
		if err := json.Unmarshal([]byte(parts), &r.Participants); err != nil {
			return nil, fmt.Errorf("rotation %s participants: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EndRotation ends a rotation now (or deletes it if it has not begun).
// To change a rotation, end it and create its successor: the past stays.
func (s *Service) EndRotation(ctx context.Context, teamID, id string) error {
	now := micros(s.clock.Now())
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var start, created int64
		var end *int64
		err := tx.QueryRow(ctx, `SELECT start_at, created_at, end_at FROM rotations WHERE id = ? AND team_id = ?`, id, teamID).Scan(&start, &created, &end)
		if err != nil {
			return store.NotFound(err, "rotation "+id)
		}
		switch {
		case end != nil && *end <= now:
			return apperr.New(apperr.Conflict, "the rotation has already ended")
		case max(start, created) >= now:
			_, err = tx.Exec(ctx, `DELETE FROM rotations WHERE id = ?`, id)
		default:
			_, err = tx.Exec(ctx, `UPDATE rotations SET end_at = ? WHERE id = ?`, now, id)
		}
		return err
	})
}

// CreateOverride stores an override.
func (s *Service) CreateOverride(ctx context.Context, teamID string, o StoredOverride) (StoredOverride, error) {
	if o.FromUser == "" && o.Tier == 0 {
		o.Tier = 1
	}
	if err := (Plan{Overrides: []Override{{FromUser: o.FromUser, ToUser: o.ToUser, Tier: o.Tier, Start: o.Start, End: o.End}}}).Validate(); err != nil {
		return StoredOverride{}, invalid("%s", strings.Replace(err.Error(), "override 1", "override", 1))
	}
	if err := s.notPast("override", o.Start); err != nil {
		return StoredOverride{}, err
	}
	if err := s.checkMembers(ctx, teamID, o.FromUser, o.ToUser); err != nil {
		return StoredOverride{}, err
	}
	o.ID, o.TeamID = newID(), teamID
	_, err := s.db.Exec(ctx, `INSERT INTO duty_overrides (id, team_id, from_user, to_user, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, teamID, o.FromUser, o.ToUser, o.Tier, micros(o.Start), micros(o.End), micros(s.clock.Now()))
	if err != nil {
		return StoredOverride{}, fmt.Errorf("insert override: %w", err)
	}
	return o, nil
}

// Overrides lists the team's overrides that overlap [from, to).
func (s *Service) Overrides(ctx context.Context, teamID string, from, to time.Time) ([]StoredOverride, error) {
	rows, err := s.db.Query(ctx, `SELECT id, team_id, from_user, to_user, tier, start_at, end_at FROM duty_overrides WHERE team_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, id`,
		teamID, micros(to), micros(from))
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	defer rows.Close()
	out := []StoredOverride{}
	for rows.Next() {
		var o StoredOverride
		var st, en int64
		if err := rows.Scan(&o.ID, &o.TeamID, &o.FromUser, &o.ToUser, &o.Tier, &st, &en); err != nil {
			return nil, err
		}
		o.Start, o.End = fromMicros(st), fromMicros(en)
		out = append(out, o)
	}
	return out, rows.Err()
}

// DeleteOverride removes an override that has not begun and cuts one in
// progress.
func (s *Service) DeleteOverride(ctx context.Context, teamID, id string) error {
	return s.endNow(ctx, "duty_overrides", teamID, id)
}

// PunchIn puts the member on duty now, as primary or as manager. Punching
// in again in the other mode switches mode; in the same mode it changes
// nothing. It reports whether anything changed.
func (s *Service) PunchIn(ctx context.Context, teamID, userID string, manager bool) (bool, error) {
	if err := s.checkMembers(ctx, teamID, userID); err != nil {
		return false, err
	}
	now := micros(s.clock.Now())
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		var mgr bool
		err := tx.QueryRow(ctx, `SELECT id, manager FROM punches WHERE team_id = ? AND user_id = ? AND end_at IS NULL`, teamID, userID).Scan(&id, &mgr)
		switch {
		case err == nil && mgr == manager:
			return nil
		case err == nil:
			if err := s.closePunch(ctx, tx, teamID, userID, id, mgr, now); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read punch: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO punches (id, team_id, user_id, manager, start_at) VALUES (?, ?, ?, ?, ?)`, newID(), teamID, userID, manager, now); err != nil {
			return fmt.Errorf("punch in: %w", err)
		}
		changed = true
		return addDutyEvent(ctx, tx, teamID, "punched_in", userID, manager, now)
	})
	return changed, err
}

// PunchOut ends the member's punch-in; it fails with Conflict if there is
// none.
func (s *Service) PunchOut(ctx context.Context, teamID, userID string) error {
	now := micros(s.clock.Now())
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		var mgr bool
		err := tx.QueryRow(ctx, `SELECT id, manager FROM punches WHERE team_id = ? AND user_id = ? AND end_at IS NULL`, teamID, userID).Scan(&id, &mgr)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.New(apperr.Conflict, "user %s is not punched in", userID)
			}
			return fmt.Errorf("read punch: %w", err)
		}
		return s.closePunch(ctx, tx, teamID, userID, id, mgr, now)
	})
}

func (s *Service) closePunch(ctx context.Context, tx *store.Tx, teamID, userID, id string, manager bool, now int64) error {
	if _, err := tx.Exec(ctx, `UPDATE punches SET end_at = ? WHERE id = ?`, now, id); err != nil {
		return fmt.Errorf("punch out: %w", err)
	}
	return addDutyEvent(ctx, tx, teamID, "punched_out", userID, manager, now)
}

func addDutyEvent(ctx context.Context, tx *store.Tx, teamID, kind, userID string, manager bool, at int64) error {
	tier := 1
	if manager {
		tier = ManagerTier
	}
	_, err := tx.Exec(ctx, `INSERT INTO duty_events (team_id, kind, user_id, manager, tier, at) VALUES (?, ?, ?, ?, ?, ?)`, teamID, kind, userID, manager, tier, at)
	if err != nil {
		return fmt.Errorf("record duty event: %w", err)
	}
	return nil
}
