package duty

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

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
	sr := StoredRotation{ID: store.NewID(), TeamID: teamID, Name: strings.TrimSpace(nr.Name), Tier: nr.Tier, TimeZone: nr.TimeZone, Start: nr.Start.UTC(),
		End: nr.End, Length: nr.Length, Unit: nr.Unit, Participants: nr.Participants, CreatedAt: now}
	var end any
	if nr.End != nil {
		end = store.Micros(*nr.End)
	}
	parts, _ := json.Marshal(nr.Participants)
	_, err = s.db.Exec(ctx, `INSERT INTO rotations (id, team_id, name, tier, time_zone, start_at, end_at, length, unit, participants, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sr.ID, teamID, sr.Name, sr.Tier, sr.TimeZone, store.Micros(sr.Start), end, sr.Length, string(sr.Unit), string(parts), store.Micros(now))
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
		r.Start, r.CreatedAt, r.Unit = store.FromMicros(st), store.FromMicros(created), Unit(unit)
		if end != nil {
			e := store.FromMicros(*end)
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
	now := store.Micros(s.clock.Now())
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
