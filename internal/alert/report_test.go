package alert_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

func TestPercentileIsNearestRank(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{10 * m, m, 2 * m}, 50, 2 * m},
		{[]time.Duration{10 * m, m, 2 * m}, 90, 10 * m},
		{[]time.Duration{m, 2 * m, 3 * m, 4 * m}, 50, 2 * m},
		{[]time.Duration{m, 2 * m, 3 * m, 4 * m}, 90, 4 * m},
		{[]time.Duration{5 * m}, 90, 5 * m},
		{[]time.Duration{m, 2 * m}, 0, m},
	} {
		if got := alert.Percentile(tc.ds, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.ds, tc.p, got, tc.want)
		}
	}
}

type reportFixture struct {
	svc   *alert.Service
	clock *clock.Fake
	teams *team.Service
	ops   team.Team
	db    *store.DB
}

func newReportFixture(t *testing.T, db *store.DB) *reportFixture {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	batch := store.NewBatcher(db, store.BatcherOptions{MaxBatch: 16, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(batch.Close)
	f := &reportFixture{db: db, clock: c, teams: team.NewService(db, c)}
	f.svc = alert.NewService(db, batch, c, f.teams)
	if err := f.svc.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.ops, _, err = f.teams.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *reportFixture) raise(t *testing.T, tm team.Team, title, sev string) alert.Alert {
	t.Helper()
	ctx := context.Background()
	out, err := f.svc.Ingest(ctx, alert.Inbound{Team: tm, Raw: alert.Raw{Source: "webhook", ContentType: "application/json", Body: []byte(`{}`)},
		Event: &ingest.Event{Title: title, Severity: sev, Action: ingest.ActionNew}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.Get(ctx, out.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *reportFixture) ack(t *testing.T, id string, u team.User) {
	t.Helper()
	if _, err := f.svc.Transition(context.Background(), id, "acknowledge", alert.UserActor(u), "", func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
}

func TestReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newReportFixture(t, db)
		other, _, err := f.teams.CreateTeam(ctx, "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		ann, err := f.teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com", Name: "Ann", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := f.teams.CreateUser(ctx, team.NewUser{Email: "bob@example.com", Name: "Bob", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		from := f.clock.Now()
		// Three alerts acknowledged after 1, 2 and 10 minutes, one never.
		for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 10 * time.Minute} {
			a := f.raise(t, f.ops, "disk full", []string{"High", "high", "low"}[i])
			f.clock.Advance(d)
			who := ann
			if i == 2 {
				who = bob
			}
			f.ack(t, a.ID, who)
			f.clock.Advance(time.Hour)
		}
		f.raise(t, f.ops, "nobody came", "")
		f.raise(t, other, "elsewhere", "high")
		f.clock.Advance(7 * 24 * time.Hour)
		f.raise(t, f.ops, "next week", "medium")
		to := f.clock.Now().Add(time.Minute)

		rf := alert.ReportFilter{TeamIDs: []string{f.ops.ID}, From: from, To: to}
		rep, err := f.svc.AckTimes(ctx, rf)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Teams) != 1 {
			t.Fatalf("teams: %+v", rep.Teams)
		}
		got := rep.Teams[0]
		if got.Alerts != 5 || got.Acknowledged != 3 || got.NotAcknowledged != 2 || got.P50 != 2*time.Minute || got.P90 != 10*time.Minute {
			t.Errorf("team stats %+v, want 5 alerts, 3 acknowledged, 2 not, p50 2m, p90 10m", got)
		}
		if len(rep.Members) != 2 || rep.Members[0].UserID != ann.ID || rep.Members[0].Acknowledged != 2 || rep.Members[0].P50 != time.Minute ||
			rep.Members[0].P90 != 2*time.Minute || rep.Members[0].UserName != "Ann" || rep.Members[1].UserID != bob.ID || rep.Members[1].P50 != 10*time.Minute {
			t.Errorf("member stats %+v", rep.Members)
		}

		counts, err := f.svc.CountsByHour(ctx, rf)
		if err != nil {
			t.Fatal(err)
		}
		total, high := 0, 0
		for _, c := range counts {
			total += c.Count
			if c.Severity == "high" {
				high += c.Count
			}
			if c.Hour.Before(from) || !c.Hour.Before(to) {
				t.Errorf("hour %v outside the period", c.Hour)
			}
		}
		if total != 5 || high != 2 {
			t.Errorf("counts %+v: total %d high %d, want 5 and 2 (severity in lower case)", counts, total, high)
		}
		if last := counts[len(counts)-1]; last.Severity != "medium" || last.Hour.Sub(from) < 7*24*time.Hour {
			t.Errorf("last count %+v, want the medium alert a week later", last)
		}

		var rows []alert.AuditRow
		err = f.svc.AuditTrail(ctx, rf, func(r alert.AuditRow) error { rows = append(rows, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		acks := 0
		for i, r := range rows {
			if r.TeamID != f.ops.ID {
				t.Fatalf("row %d belongs to team %s", i, r.TeamID)
			}
			if i > 0 && r.CreatedAt.Before(rows[i-1].CreatedAt) {
				t.Errorf("row %d is out of order", i)
			}
			if r.Entry.Kind == alert.KindAcknowledged {
				acks++
			}
		}
		if len(rows) < 8 || acks != 3 || rows[0].Entry.Kind != alert.KindCreated || rows[0].Title != "disk full" {
			t.Errorf("audit trail of %d rows, %d acknowledgements; first %+v", len(rows), acks, rows[0])
		}
		stop := errors.New("stop")
		n := 0
		if err := f.svc.AuditTrail(ctx, rf, func(alert.AuditRow) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("stopping the walk: %v after %d rows", err, n)
		}

		none := alert.ReportFilter{TeamIDs: []string{}, From: from, To: to}
		if r, _ := f.svc.AckTimes(ctx, none); len(r.Teams) != 0 {
			t.Errorf("no teams gave %+v", r)
		}
		all, err := f.svc.AckTimes(ctx, alert.ReportFilter{From: from, To: to})
		if err != nil || len(all.Teams) != 2 {
			t.Errorf("all teams: %+v %v", all.Teams, err)
		}
	})
}
