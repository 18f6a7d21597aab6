package alert

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// ReportFilter selects the alerts a report covers: those of TeamIDs (nil:
// every team; empty: none) created in [From, To). An alert's whole history
// belongs to the period it was created in, so a report of a closed period
// does not change when old alerts are touched later.
type ReportFilter struct {
	TeamIDs []string
	From    time.Time
	To      time.Time
}

// where returns the condition on alerts aliased a, and its arguments.
func (f ReportFilter) where() (string, []any) {
	w := `a.created_at >= ? AND a.created_at < ?`
	args := []any{store.Micros(f.From), store.Micros(f.To)}
	if f.TeamIDs != nil {
		w += ` AND a.team_id IN (` + store.Placeholders(len(f.TeamIDs)) + `)`
		args = append(args, store.Args(f.TeamIDs)...)
	}
	return w, args
}

func (f ReportFilter) none() bool { return f.TeamIDs != nil && len(f.TeamIDs) == 0 }

// HourCount is how many alerts of a severity were created in the hour that
// starts at Hour.
type HourCount struct {
	Hour     time.Time
	Severity string // lower case, as sent
	Count    int
}

// CountsByHour counts alerts per hour (counted from f.From) and severity.
// Hours, not weeks, so that the caller can group them into the weeks of any
// time zone, daylight saving included, with one query on both databases.
func (s *Service) CountsByHour(ctx context.Context, f ReportFilter) ([]HourCount, error) {
	if f.none() {
		return nil, nil
	}
	w, args := f.where()
	from := store.Micros(f.From)
	rows, err := s.db.Query(ctx, `SELECT (a.created_at - ?) / 3600000000, LOWER(a.severity), COUNT(*) FROM alerts a WHERE `+w+` GROUP BY 1, 2 ORDER BY 1, 2`,
		append([]any{from}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	defer rows.Close()
	var out []HourCount
	for rows.Next() {
		var h int64
		var c HourCount
		if err := rows.Scan(&h, &c.Severity, &c.Count); err != nil {
			return nil, fmt.Errorf("count alerts: %w", err)
		}
		c.Hour = f.From.Add(time.Duration(h) * time.Hour)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AckStats is time to acknowledge for a team, or for one member in a team.
type AckStats struct {
	TeamID   string
	UserID   string // "" for a team's line
	UserName string
	// Alerts counts the team's alerts in the period (team lines only).
	Alerts int
	// Acknowledged counts the alerts acknowledged (by the member, on a
	// member's line).
	Acknowledged int
	// NotAcknowledged counts the team's alerts nobody has acknowledged;
	// they have no time to acknowledge and are left out of P50 and P90.
	NotAcknowledged int
	P50, P90        time.Duration
}

// AckReport is time to acknowledge per team and per member.
type AckReport struct {
	Teams   []AckStats // by team id
	Members []AckStats // by team id, then fastest p50 first
}

// AckTimes measures time to acknowledge from the timeline: for a team, from
// an alert's creation to its first "acknowledged" entry, whoever made it;
// for a member, to that member's first "acknowledged" entry on the alert
// (with multi_ack, every member who acknowledged counts).
func (s *Service) AckTimes(ctx context.Context, f ReportFilter) (AckReport, error) {
	if f.none() {
		return AckReport{}, nil
	}
	w, args := f.where()
	// No GROUP BY or ORDER BY: the rows come in any order and a member's
	// repeated acknowledgements of one alert are folded here, which is far
	// cheaper than having the database sort every row first.
	rows, err := s.db.Query(ctx, `SELECT a.id, a.team_id, a.created_at, COALESCE(t.actor_type, ''), COALESCE(t.actor_id, ''), COALESCE(t.actor_name, ''), t.at
		FROM alerts a LEFT JOIN timeline t ON t.alert_id = a.id AND t.kind = 'acknowledged'
		WHERE `+w, args...)
	if err != nil {
		return AckReport{}, fmt.Errorf("read acknowledgements: %w", err)
	}
	defer rows.Close()
	type alertAck struct {
		team  string
		first time.Duration // -1: never acknowledged
	}
	type memberKey struct{ team, user string }
	type ackKey struct{ alert, user string }
	alerts := map[string]*alertAck{}
	// firstBy is each member's first acknowledgement of each alert.
	firstBy := map[ackKey]time.Duration{}
	names := map[memberKey]string{}
	var id, teamID, actorType, actorID, actorName string
	for rows.Next() {
		var created int64
		var at *int64
		if err := rows.Scan(&id, &teamID, &created, &actorType, &actorID, &actorName, &at); err != nil {
			return AckReport{}, fmt.Errorf("read acknowledgements: %w", err)
		}
		a := alerts[id]
		if a == nil {
			a = &alertAck{team: teamID, first: -1}
			alerts[id] = a
		}
		if at == nil {
			continue
		}
		d := max(time.Duration(*at-created)*time.Microsecond, 0)
		if a.first < 0 || d < a.first {
			a.first = d
		}
		if actorType == "user" && actorID != "" {
			k := ackKey{id, actorID}
			if prev, ok := firstBy[k]; !ok || d < prev {
				firstBy[k] = d
			}
			names[memberKey{teamID, actorID}] = actorName
		}
	}
	if err := rows.Err(); err != nil {
		return AckReport{}, fmt.Errorf("read acknowledgements: %w", err)
	}
	members := map[memberKey][]time.Duration{}
	for k, d := range firstBy {
		mk := memberKey{alerts[k.alert].team, k.user}
		members[mk] = append(members[mk], d)
	}
	teams := map[string]*AckStats{}
	delays := map[string][]time.Duration{}
	for _, a := range alerts {
		t := teams[a.team]
		if t == nil {
			t = &AckStats{TeamID: a.team}
			teams[a.team] = t
		}
		t.Alerts++
		if a.first < 0 {
			t.NotAcknowledged++
			continue
		}
		t.Acknowledged++
		delays[a.team] = append(delays[a.team], a.first)
	}
	var out AckReport
	for id, t := range teams {
		t.P50, t.P90 = Percentile(delays[id], 50), Percentile(delays[id], 90)
		out.Teams = append(out.Teams, *t)
	}
	slices.SortFunc(out.Teams, func(a, b AckStats) int { return strings.Compare(a.TeamID, b.TeamID) })
	for k, ds := range members {
		out.Members = append(out.Members, AckStats{TeamID: k.team, UserID: k.user, UserName: names[k], Acknowledged: len(ds),
			P50: Percentile(ds, 50), P90: Percentile(ds, 90)})
	}
	slices.SortFunc(out.Members, func(a, b AckStats) int {
		if c := strings.Compare(a.TeamID, b.TeamID); c != 0 {
			return c
		}
		if a.P50 != b.P50 {
			return int(a.P50 - b.P50)
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out, nil
}

// Percentile returns the p-th percentile of ds by the nearest-rank method:
// the smallest value that at least p % of the values are less than or equal
// to (the value at rank ⌈p/100 · n⌉ in ascending order). It is always one of
// the measured values, never an interpolation: for 1, 2 and 10 minutes, p50
// is 2 minutes and p90 is 10 minutes. Zero for no values.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// AuditRow is one timeline entry of an alert, with the alert it belongs to.
type AuditRow struct {
	AlertID   string
	TeamID    string
	Title     string
	Severity  string
	CreatedAt time.Time
	Entry     TimelineEntry
}

// AuditTrail calls fn for every timeline entry of the alerts f selects, by
// alert creation time and then entry order. Rows are read as fn consumes
// them, so a trail of any length is never held in memory; an error from fn
// stops the walk and is returned.
func (s *Service) AuditTrail(ctx context.Context, f ReportFilter, fn func(AuditRow) error) error {
	if f.none() {
		return nil
	}
	w, args := f.where()
	rows, err := s.db.Query(ctx, `SELECT a.id, a.team_id, a.title, a.severity, a.created_at, t.id, t.at, t.kind, t.actor_type, t.actor_id, t.actor_name, t.text
		FROM alerts a JOIN timeline t ON t.alert_id = a.id WHERE `+w+` ORDER BY a.created_at, a.id, t.id`, args...)
	if err != nil {
		return fmt.Errorf("read audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRow
		var created, at int64
		e := &r.Entry
		if err := rows.Scan(&r.AlertID, &r.TeamID, &r.Title, &r.Severity, &created, &e.ID, &at, &e.Kind, &e.Actor.Type, &e.Actor.ID, &e.Actor.Name, &e.Text); err != nil {
			return fmt.Errorf("read audit trail: %w", err)
		}
		r.CreatedAt, e.At, e.AlertID = store.FromMicros(created), store.FromMicros(at), r.AlertID
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit trail: %w", err)
	}
	return nil
}
