package inbound_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/notify/inbound"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

const phone = "+4915112345678"

type world struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clock  *clock.Fake
	alerts *alert.Service
	teams  *team.Service
	in     *inbound.Service
	tokens *action.Tokens
	team   team.Team
	ann    team.User
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 5, 4, 3, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{Logger: log})
	t.Cleanup(batch.Close)
	ts := team.NewService(db, c)
	box, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := action.New(ctx, settings.NewKeys(db, box, c), db, c)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, db: db, clock: c, teams: ts, alerts: alert.NewService(db, batch, c, ts), tokens: tokens}
	w.in = inbound.New(db, w.alerts, ts, tokens, c, log)
	if w.team, _, err = ts.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	if w.ann, err = ts.CreateUser(ctx, team.NewUser{Email: "ann@example.com", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AddMember(ctx, w.team.ID, w.ann.ID, team.RoleResponder); err != nil {
		t.Fatal(err)
	}
	cm, err := ts.AddContactMethod(ctx, w.ann.ID, "sms", phone, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.MarkVerified(ctx, w.ann.ID, cm.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

// raise opens an alert and gives it a reply code for Ann's phone, as the
// engine does when it texts her.
func (w *world) raise(title string) (id, code string) {
	w.t.Helper()
	body := `{"Title":"` + title + `"}`
	b, err := ingest.ParseBody("application/json", []byte(body), ingest.DefaultLimits)
	if err != nil {
		w.t.Fatal(err)
	}
	ev := ingest.Interpret(b, ingest.Mapping{}, http.Header{})
	out, err := w.alerts.Ingest(w.ctx, alert.Inbound{Team: w.team, Raw: alert.Raw{Source: "webhook", Headers: map[string]string{}, Body: []byte(body)}, Event: &ev})
	if err != nil {
		w.t.Fatal(err)
	}
	code, err = w.in.CodeFor(w.ctx, phone, out.AlertID, w.ann.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	w.clock.Advance(time.Second)
	return out.AlertID, code
}

func (w *world) status(id string) alert.Status {
	w.t.Helper()
	a, err := w.alerts.Get(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Status
}

func (w *world) reply(body string) string {
	w.t.Helper()
	answer, err := w.in.TextReply(w.ctx, "sms", phone, body)
	if err != nil {
		w.t.Fatal(err)
	}
	return answer
}

func TestReplyCodesAreSmallAndReused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a1, c1 := w.raise("one")
		_, c2 := w.raise("two")
		if c1 != "1" || c2 != "2" {
			t.Fatalf("codes %s, %s; want 1, 2", c1, c2)
		}
		if again, _ := w.in.CodeFor(w.ctx, phone, a1, w.ann.ID); again != "1" {
			t.Fatalf("the same alert got a new code %s", again)
		}
		w.reply("1c")
		if _, c3 := w.raise("three"); c3 != "1" {
			t.Fatalf("code of a closed alert not reused: got %s", c3)
		}
	})
}

func TestSMSRepliesActOnTheRightAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a1, _ := w.raise("db down")
		a2, _ := w.raise("disk full")
		if got := w.reply(" 1A "); !strings.Contains(got, "Acknowledged: db down") {
			t.Fatalf("answer %q", got)
		}
		if w.status(a1) != alert.StatusAcknowledged || w.status(a2) != alert.StatusNew {
			t.Fatalf("statuses %s %s", w.status(a1), w.status(a2))
		}
		// Without a code: the newest open alert.
		if got := w.reply("close"); !strings.Contains(got, "Closed: disk full") {
			t.Fatalf("answer %q", got)
		}
		if got := w.reply("1a"); !strings.Contains(got, "already acknowledged") {
			t.Fatalf("second ack answered %q", got)
		}
		if got := w.reply("7a"); !strings.Contains(got, "no open alert has code 7") {
			t.Fatalf("unknown code answered %q", got)
		}
		if got := w.reply("what?"); !strings.Contains(got, "did not understand") {
			t.Fatalf("nonsense answered %q", got)
		}
		tl, err := w.alerts.Timeline(w.ctx, a1)
		if err != nil {
			t.Fatal(err)
		}
		var by string
		for _, e := range tl {
			if e.Kind == alert.KindAcknowledged {
				by = e.Actor.ID
			}
		}
		if by != w.ann.ID {
			t.Fatalf("acknowledged by %q, want Ann", by)
		}
	})
}

func TestAckAllAndStrangers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a1, _ := w.raise("one")
		a2, _ := w.raise("two")
		if got := w.reply("ack all"); !strings.Contains(got, "acknowledged 2 alerts") {
			t.Fatalf("answer %q", got)
		}
		if w.status(a1) != alert.StatusAcknowledged || w.status(a2) != alert.StatusAcknowledged {
			t.Fatal("not all acknowledged")
		}
		answer, err := w.in.TextReply(w.ctx, "sms", "+15005550006", "cc")
		if err != nil || answer != "" {
			t.Fatalf("a stranger got %q, %v", answer, err)
		}
		if w.status(a1) != alert.StatusAcknowledged {
			t.Fatal("a stranger's reply changed an alert")
		}
	})
}

func TestStopAndStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.reply("STOP")
		cms, _ := w.teams.ContactMethods(w.ctx, w.ann.ID)
		if cms[0].OptedOutAt == nil {
			t.Fatal("STOP did not opt the number out")
		}
		if got := w.reply("start"); !strings.Contains(got, "on again") {
			t.Fatalf("START answered %q", got)
		}
		cms, _ = w.teams.ContactMethods(w.ctx, w.ann.ID)
		if cms[0].OptedOutAt != nil {
			t.Fatal("START did not opt the number in")
		}
	})
}

func TestTokensWorkOnceAndOnlyUnchanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		id, _ := w.raise("db down")
		tok := w.tokens.Issue(action.Claims{AlertID: id, UserID: w.ann.ID, Action: action.Acknowledge})
		forged := tok[:len(tok)-2] + "AA"
		if _, err := w.in.Redeem(w.ctx, forged, "test"); err == nil {
			t.Fatal("a changed token worked")
		}
		if _, err := w.in.Redeem(w.ctx, tok, "test"); err != nil {
			t.Fatal(err)
		}
		if w.status(id) != alert.StatusAcknowledged {
			t.Fatal("not acknowledged")
		}
		if _, err := w.in.Redeem(w.ctx, tok, "test"); err == nil {
			t.Fatal("a token worked twice")
		}
		late := w.tokens.Issue(action.Claims{AlertID: id, UserID: w.ann.ID, Action: action.Close})
		w.clock.Advance(action.Lifetime)
		if _, err := w.in.Redeem(w.ctx, late, "test"); err == nil {
			t.Fatal("an expired token worked")
		}
		if w.status(id) != alert.StatusAcknowledged {
			t.Fatal("an expired token changed the alert")
		}
	})
}

func TestDeliveryReportsReachTheTimelineAndMoveOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		id, _ := w.raise("db down")
		now := store.Micros(w.clock.Now())
		for _, n := range []struct {
			id, channel, provider, status string
			due                           int64
		}{
			{"n1", "sms", "SM1", "sent", now},
			{"n2", "voice", "", "pending", now + int64(5*time.Minute/time.Microsecond)},
		} {
			if _, err := db.Exec(w.ctx, `INSERT INTO notifications (id, alert_id, team_id, user_id, channel, address, kind, round, tier, due_at, status, provider_id, created_at, dedup_key)
				VALUES (?, ?, ?, ?, ?, ?, 'alert', 0, 1, ?, ?, ?, ?, ?)`, n.id, id, w.team.ID, w.ann.ID, n.channel, phone, n.due, n.status, n.provider, now, n.id); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.in.Delivery(w.ctx, "sms", "SM1", "undelivered", "carrier filtered (30007)"); err != nil {
			t.Fatal(err)
		}
		var delivery string
		var due int64
		db.QueryRow(w.ctx, `SELECT delivery FROM notifications WHERE id = 'n1'`).Scan(&delivery)
		db.QueryRow(w.ctx, `SELECT due_at FROM notifications WHERE id = 'n2'`).Scan(&due)
		if delivery != "undelivered" || due != store.Micros(w.clock.Now()) {
			t.Fatalf("delivery %q, next rule due %d (now %d)", delivery, due, store.Micros(w.clock.Now()))
		}
		tl, _ := w.alerts.Timeline(w.ctx, id)
		last := tl[len(tl)-1]
		if last.Kind != alert.KindNotifyFailed || !strings.Contains(last.Text, "carrier filtered") {
			t.Fatalf("timeline ends with %+v", last)
		}
	})
}

// A report for a message not recorded yet is kept, not dropped.
func TestEarlyDeliveryReportIsKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if err := w.in.Delivery(w.ctx, "sms", "SM-early", "delivered", ""); err != nil {
			t.Fatal(err)
		}
		var n int
		db.QueryRow(w.ctx, `SELECT COUNT(*) FROM early_deliveries WHERE channel = 'sms' AND provider_id = 'SM-early'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d early reports kept", n)
		}
	})
}
