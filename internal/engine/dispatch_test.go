package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/engine"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// engineWith returns an engine with opt; the world's limits apply unless
// opt names its own.
func (w *world) engineWith(id string, opt engine.Options) *engine.Engine {
	opt.InstanceID = id
	if opt.Limits == nil {
		opt.Limits = w.limits
	}
	return engine.New(w.db, w.clock, w.teams, w.duty, w.channels, slog.New(slog.DiscardHandler), opt)
}

func (w *world) rules(rs ...team.TeamRule) {
	w.t.Helper()
	if _, err := w.teams.SetTeamRules(w.ctx, w.team.ID, rs); err != nil {
		w.t.Fatal(err)
	}
}

// contact returns the member's one contact method on channel.
func (w *world) contact(name, channel string) team.ContactMethod {
	w.t.Helper()
	cms, err := w.teams.ContactMethods(w.ctx, w.users[name])
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range cms {
		if c.Channel == channel {
			return c
		}
	}
	w.t.Fatalf("%s has no %s contact method", name, channel)
	return team.ContactMethod{}
}

func (w *world) actor(name string) alert.Actor {
	return alert.UserActor(team.User{ID: w.users[name], Name: strings.ToUpper(name[:1]) + name[1:], Email: name + "@example.com"})
}

func (w *world) transition(alertID, action, name string) {
	w.t.Helper()
	if _, err := w.alerts.Transition(w.ctx, alertID, action, w.actor(name), "", func(string) bool { return true }); err != nil {
		w.t.Fatal(err)
	}
}

// row is a notifications row as the tests look at it.
type row struct {
	ID, Status, LastError, BundledInto, ProviderID string
	Due                                            time.Time
	Attempts                                       int
}

// notifications returns the alert's rows on channel, by due time.
func (w *world) notifications(alertID, channel string) []row {
	w.t.Helper()
	rows, err := w.db.Query(w.ctx, `SELECT id, status, last_error, bundled_into, provider_id, due_at, attempts FROM notifications
		WHERE alert_id = ? AND channel = ? ORDER BY due_at, id`, alertID, channel)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var due int64
		if err := rows.Scan(&r.ID, &r.Status, &r.LastError, &r.BundledInto, &r.ProviderID, &due, &r.Attempts); err != nil {
			w.t.Fatal(err)
		}
		r.Due = store.FromMicros(due)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// one returns the alert's only row on channel.
func (w *world) one(alertID, channel string) row {
	w.t.Helper()
	rs := w.notifications(alertID, channel)
	if len(rs) != 1 {
		w.t.Fatalf("alert %s has %d %s notifications, want 1: %+v", alertID, len(rs), channel, rs)
	}
	return rs[0]
}

// entries returns the texts of the alert's timeline entries of kind.
func (w *world) entries(alertID, kind string) []string {
	w.t.Helper()
	tl, err := w.alerts.Timeline(w.ctx, alertID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Kind == kind {
			out = append(out, e.Text)
		}
	}
	return out
}

func anyContains(texts []string, sub string) bool {
	return slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, sub) })
}

// The second SMS to a number within its one-per-minute window waits: it
// stays pending without using up an attempt, the alert's timeline says
// why, and it goes out when the window has passed. Push has no limit and
// is not held.
func TestSecondSMSWithinTheWindowWaits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.limits = notify.Limits{"sms": {{N: 1, Per: time.Minute}}}
		w.rules(team.TeamRule{Channel: "push"}, team.TeamRule{Channel: "sms"})
		w.punch("ann", false)
		e := w.engine("e1")
		first := w.raise(`{"Title":"first"}`)
		w.run(e)
		if got := w.sent(); got != "ann:push ann:sms" {
			t.Fatalf("first alert: %q", got)
		}

		w.clock.Advance(20 * time.Second)
		second := w.raise(`{"Title":"second"}`)
		w.run(e)
		if got := w.sent(); got != "ann:push ann:push ann:sms" {
			t.Fatalf("second alert 20 s later: %q, want its push only", got)
		}
		held := w.one(second, "sms")
		now := w.clock.Now()
		if held.Status != "pending" || held.Attempts != 0 || !held.Due.After(now) || held.Due.After(now.Add(time.Minute)) {
			t.Fatalf("held SMS: %+v, want pending, no attempt used, due within the next minute after %s", held, now)
		}
		if th := w.entries(second, alert.KindThrottled); len(th) != 1 || !strings.Contains(th[0], "sms") {
			t.Fatalf("throttled entries of the second alert: %q", th)
		}
		if th := w.entries(first, alert.KindThrottled); len(th) != 0 {
			t.Fatalf("the first alert was throttled: %q", th)
		}

		w.clock.Set(held.Due.Add(-time.Second))
		w.run(e)
		if n := len(w.rec["sms"].Sent()); n != 1 {
			t.Fatalf("%d SMS before the held one was due", n)
		}
		w.clock.Set(held.Due)
		w.run(e)
		sms := w.rec["sms"].Sent()
		if len(sms) != 2 || sms[1].AlertID != second || sms[1].Kind != "alert" {
			t.Fatalf("after the window: %+v", sms)
		}
		if r := w.one(second, "sms"); r.Status != "sent" || r.Attempts != 1 {
			t.Fatalf("held SMS once sent: %+v", r)
		}
	})
}

// SMS held back for one number go out together when the window allows:
// one bundle carries every alert that waited.
func TestSMSHeldInABurstGoOutAsOneBundle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.limits = notify.Limits{"sms": {{N: 1, Per: time.Minute}}}
		w.rules(team.TeamRule{Channel: "sms"})
		w.punch("ann", false)
		e := w.engine("e1")
		w.raise(`{"Title":"first"}`)
		w.run(e)
		w.clock.Advance(10 * time.Second)
		b := w.raise(`{"Title":"b"}`)
		c := w.raise(`{"Title":"c"}`)
		w.run(e)
		if n := len(w.rec["sms"].Sent()); n != 1 {
			t.Fatalf("%d SMS sent within the window", n)
		}
		hb, hc := w.one(b, "sms"), w.one(c, "sms")
		if hb.Status != "pending" || hc.Status != "pending" || !hb.Due.Equal(hc.Due) {
			t.Fatalf("held: %+v %+v, want both pending until the same moment", hb, hc)
		}
		w.clock.Set(hb.Due)
		w.run(e)
		sms := w.rec["sms"].Sent()
		if len(sms) != 2 || sms[1].Kind != notify.KindBundle || len(sms[1].Bundle) != 2 {
			t.Fatalf("after the window: %d SMS, last %+v", len(sms), sms[len(sms)-1])
		}
		if w.one(b, "sms").Status != "sent" || w.one(c, "sms").Status != "sent" {
			t.Fatal("the bundled notifications are not recorded as sent")
		}
	})
}

// Three alerts at once for a member reachable by SMS alone make one SMS
// that lists them; each notification is recorded as sent, the two that
// rode along pointing at the one that carried them.
func TestThreeAlertsAtOnceMakeOneSMS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.rules(team.TeamRule{Channel: "sms"})
		w.punch("ann", false)
		e := w.engine("e1")
		ids := []string{w.raise(`{"Title":"db down"}`), w.raise(`{"Title":"disk full"}`), w.raise(`{"Title":"cpu hot"}`)}
		w.run(e)

		sms := w.rec["sms"].Sent()
		if len(sms) != 1 {
			t.Fatalf("%d SMS sent, want 1", len(sms))
		}
		m := sms[0]
		if m.Kind != notify.KindBundle || m.Title != "3 new alerts in Ops" || m.UserID != w.users["ann"] {
			t.Fatalf("bundle: kind %q title %q user %s", m.Kind, m.Title, w.names[m.UserID])
		}
		var bundled []string
		for _, r := range m.Bundle {
			bundled = append(bundled, r.ID)
		}
		if !sameSet(bundled, ids) {
			t.Fatalf("bundle lists %v, want %v", bundled, ids)
		}
		for _, title := range []string{"db down", "disk full", "cpu hot"} {
			if !strings.Contains(m.Text, title) {
				t.Fatalf("bundle text %q lacks %q", m.Text, title)
			}
		}

		riders := 0
		for _, id := range ids {
			r := w.one(id, "sms")
			switch {
			case r.Status != "sent":
				t.Fatalf("alert %s: notification %+v, want sent", id, r)
			case r.ID == m.NotificationID:
				if r.BundledInto != "" {
					t.Fatalf("the carrier is bundled into %s", r.BundledInto)
				}
			case r.BundledInto == m.NotificationID:
				riders++
			default:
				t.Fatalf("alert %s: bundled into %q, want the carrier %s", id, r.BundledInto, m.NotificationID)
			}
			if !anyContains(w.entries(id, alert.KindNotified), "bundle") {
				t.Fatalf("alert %s: timeline %q does not say it was bundled", id, w.entries(id, alert.KindNotified))
			}
		}
		if riders != 2 {
			t.Fatalf("%d notifications ride in the bundle, want 2", riders)
		}
	})
}

// A bundle that fails with a retryable error leaves every alert in it
// pending; the retry sends one bundle for all of them.
func TestFailedBundleRetriesEveryAlertInIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.rules(team.TeamRule{Channel: "sms"})
		w.punch("ann", false)
		e := w.engine("e1")
		ids := []string{w.raise(`{"Title":"a"}`), w.raise(`{"Title":"b"}`), w.raise(`{"Title":"c"}`)}
		w.rec["sms"].FailWith(errors.New("twilio is down"))
		w.run(e)
		for _, id := range ids {
			if r := w.one(id, "sms"); r.Status != "pending" || !strings.Contains(r.LastError, "twilio is down") || !r.Due.After(w.clock.Now()) {
				t.Fatalf("alert %s after the failure: %+v, want pending for a retry", id, r)
			}
		}
		w.rec["sms"].FailWith(nil)
		w.advance(time.Minute, e)
		sms := w.rec["sms"].Sent()
		if len(sms) != 1 || len(sms[0].Bundle) != 3 {
			t.Fatalf("retry sent %d SMS: %+v", len(sms), sms)
		}
		for _, id := range ids {
			if r := w.one(id, "sms"); r.Status != "sent" {
				t.Fatalf("alert %s after the retry: %+v", id, r)
			}
		}
	})
}

// A bundle refused for good fails every alert in it, and each alert's next
// rule for the member (a call at minute 5) is brought forward to now.
func TestPermanentlyFailedBundleMovesEveryAlertOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.rules(team.TeamRule{Channel: "sms"}, team.TeamRule{Channel: "voice", DelaySeconds: 300})
		w.punch("ann", false)
		e := w.engine("e1")
		ids := []string{w.raise(`{"Title":"a"}`), w.raise(`{"Title":"b"}`), w.raise(`{"Title":"c"}`)}
		w.rec["sms"].FailWith(notify.Permanent(errors.New("not a mobile number")))
		w.run(e)
		for _, id := range ids {
			if r := w.one(id, "sms"); r.Status != "failed" || !strings.Contains(r.LastError, "not a mobile number") {
				t.Fatalf("alert %s: SMS %+v, want failed", id, r)
			}
			if !anyContains(w.entries(id, alert.KindNotifyFailed), "not a mobile number") {
				t.Fatalf("alert %s: timeline does not record the failure", id)
			}
			// The call planned for minute 5, due now, went out in the
			// same pass.
			if r := w.one(id, "voice"); r.Status != "sent" {
				t.Fatalf("alert %s: call %+v, want sent at once", id, r)
			}
		}
		if got := w.sent(); got != "ann:voice" {
			t.Fatalf("sent %q, want one (bundled) call", got)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A contact method that may not be used — not verified, opted out by STOP,
// or removed after the plan was made — fails its notification with the
// reason, on the timeline too, and the member's next rule (the call at
// minute 5) is brought forward to now.
func TestUnusableContactMethodMovesOnToTheNextRule(t *testing.T) {
	cases := []struct {
		name string
		// before runs before the alert is raised, after once it is planned.
		before, after func(w *world)
		want          string
	}{
		{
			name: "not verified",
			before: func(w *world) {
				if err := w.teams.DeleteContactMethod(w.ctx, w.users["ann"], w.contact("ann", "sms").ID); err != nil {
					w.t.Fatal(err)
				}
				if _, err := w.teams.AddContactMethod(w.ctx, w.users["ann"], "sms", "+4915199990001", "new phone"); err != nil {
					w.t.Fatal(err)
				}
			},
			want: "not verified",
		},
		{
			name: "opted out",
			before: func(w *world) {
				if _, err := w.db.Exec(w.ctx, `UPDATE contact_methods SET opted_out_at = ? WHERE id = ?`,
					store.Micros(w.clock.Now()), w.contact("ann", "sms").ID); err != nil {
					w.t.Fatal(err)
				}
			},
			want: "STOP",
		},
		{
			name: "removed",
			after: func(w *world) {
				if _, err := w.db.Exec(w.ctx, `DELETE FROM contact_methods WHERE id = ?`, w.contact("ann", "sms").ID); err != nil {
					w.t.Fatal(err)
				}
			},
			want: "removed",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				w := newWorld(t, db) // push at once, SMS at minute 2, a call at minute 5
				w.punch("ann", false)
				e := w.engine("e1")
				if tc.before != nil {
					tc.before(w)
				}
				id := w.raise(`{"Title":"x"}`)
				w.run(e)
				if tc.after != nil {
					tc.after(w)
				}
				w.advance(2*time.Minute, e)

				if got := w.sent(); got != "ann:push ann:voice" {
					t.Fatalf("sent %q by minute 2, want the push and the call brought forward", got)
				}
				if r := w.one(id, "sms"); r.Status != "failed" || !strings.Contains(r.LastError, tc.want) {
					t.Fatalf("SMS: %+v, want failed with %q", r, tc.want)
				}
				if !anyContains(w.entries(id, alert.KindNotifyFailed), tc.want) {
					t.Fatalf("timeline %q does not say %q", w.entries(id, alert.KindNotifyFailed), tc.want)
				}
			})
		})
	}
}

// A push service answering that the subscription is gone fails the
// notification and removes the subscription; the member's other contact
// methods stay and the next one is used at once.
func TestGonePushSubscriptionIsRemoved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.punch("ann", false)
		e := w.engine("e1")
		push, sms := w.contact("ann", "push"), w.contact("ann", "sms")
		w.rec["push"].FailWith(notify.Gone(errors.New("410")))
		id := w.raise(`{"Title":"x"}`)
		w.run(e)

		if r := w.one(id, "push"); r.Status != "failed" || !strings.Contains(r.LastError, "410") {
			t.Fatalf("push: %+v, want failed", r)
		}
		var n int
		if err := db.QueryRow(w.ctx, `SELECT COUNT(*) FROM contact_methods WHERE id = ?`, push.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("push subscription rows left: %d %v", n, err)
		}
		if err := db.QueryRow(w.ctx, `SELECT COUNT(*) FROM contact_methods WHERE id = ?`, sms.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("SMS contact method rows left: %d %v", n, err)
		}
		if !anyContains(w.entries(id, alert.KindNotifyFailed), "removed") {
			t.Fatalf("timeline %q does not say the address was removed", w.entries(id, alert.KindNotifyFailed))
		}
		if got := w.sent(); got != "ann:sms" {
			t.Fatalf("sent %q, want the SMS brought forward", got)
		}
	})
}

// issuer is an ActionIssuer that records what it signed.
type issuer struct {
	mu     sync.Mutex
	issued map[string][4]string // token → notification, alert, user, action
}

func (f *issuer) Issue(notificationID, alertID, userID, action string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issued == nil {
		f.issued = map[string][4]string{}
	}
	tok := fmt.Sprintf("tok%d", len(f.issued)+1)
	f.issued[tok] = [4]string{notificationID, alertID, userID, action}
	return tok
}

func (f *issuer) lookup(token string) ([4]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.issued[token]
	return v, ok
}

// coder is a ReplyCoder that records what it was asked.
type coder struct {
	mu    sync.Mutex
	asked [][3]string // address, alert, user
}

func (f *coder) CodeFor(ctx context.Context, address, alertID, userID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [3]string{address, alertID, userID})
	return "42", nil
}

func (f *coder) calls() [][3]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// checkActions checks that m offers exactly the actions named, each signed
// by iss for m's recipient and linked under base.
func checkActions(t *testing.T, iss *issuer, base, alertID, userID string, m notify.Message, names ...string) {
	t.Helper()
	var got []string
	for _, a := range m.Actions {
		got = append(got, a.Name)
		signed, ok := iss.lookup(a.Token)
		if !ok {
			t.Fatalf("action %s: token %q was not issued", a.Name, a.Token)
		}
		if want := [4]string{m.NotificationID, alertID, userID, a.Name}; signed != want {
			t.Fatalf("action %s signed for %v, want %v", a.Name, signed, want)
		}
		if a.URL != base+"/actions/"+a.Token || a.Label == "" {
			t.Fatalf("action %s: URL %q label %q", a.Name, a.URL, a.Label)
		}
	}
	if !slices.Equal(got, names) {
		t.Fatalf("actions %v, want %v", got, names)
	}
}

// Messages carry a link to the alert, signed actions for their recipient,
// and, on SMS, the reply code for the alert.
func TestMessagesCarryLinksActionsAndReplyCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const base = "https://lm.example"
		w := newWorld(t, db)
		w.punch("ann", false)
		iss, cod := &issuer{}, &coder{}
		e := w.engineWith("e1", engine.Options{BaseURL: base, Actions: iss, ReplyCodes: cod})
		id := w.raise(`{"Title":"x"}`)
		w.run(e)

		push := w.rec["push"].Sent()
		if len(push) != 1 {
			t.Fatalf("%d pushes", len(push))
		}
		p := push[0]
		if p.NotificationID != w.one(id, "push").ID {
			t.Fatalf("push for notification %s, want %s", p.NotificationID, w.one(id, "push").ID)
		}
		if p.AlertURL != base+"/alerts/"+id {
			t.Fatalf("alert URL %q", p.AlertURL)
		}
		if p.ReplyCode != "" {
			t.Fatalf("push has a reply code %q", p.ReplyCode)
		}
		checkActions(t, iss, base, id, w.users["ann"], p, "acknowledge", "close", "escalate")
		if got := cod.calls(); len(got) != 0 {
			t.Fatalf("reply codes asked for a push: %v", got)
		}

		w.advance(2*time.Minute, e)
		sms := w.rec["sms"].Sent()
		if len(sms) != 1 || sms[0].ReplyCode != "42" {
			t.Fatalf("SMS: %+v, want reply code 42", sms)
		}
		if got, want := cod.calls(), [][3]string{{w.contact("ann", "sms").Address, id, w.users["ann"]}}; !slices.Equal(got, want) {
			t.Fatalf("reply code asked for %v, want %v", got, want)
		}
	})
}

// The reminder of an acknowledged alert offers closing it, and nothing
// else: acknowledging or escalating it again makes no sense.
func TestAckTimeoutReminderOffersOnlyClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const base = "https://lm.example"
		w := newWorld(t, db)
		w.pushOnly()
		if _, err := w.teams.SetAlertSettings(w.ctx, w.team.ID, team.AlertSettings{AckTimeoutSeconds: 600}); err != nil {
			t.Fatal(err)
		}
		w.punch("ann", false)
		iss := &issuer{}
		e := w.engineWith("e1", engine.Options{BaseURL: base, Actions: iss})
		id := w.raise(`{"Title":"x"}`)
		w.run(e)
		w.transition(id, "acknowledge", "ann")
		w.advance(10*time.Minute, e)

		push := w.rec["push"].Sent()
		if len(push) != 2 || push[1].Kind != "ack_timeout" {
			t.Fatalf("pushes: %+v, want the alert and a reminder", push)
		}
		checkActions(t, iss, base, id, w.users["ann"], push[1], "close")
	})
}

// updater is an Updater that records what it was asked to show.
type updater struct {
	mu  sync.Mutex
	got []update
}

type update struct {
	providerID string
	u          notify.Update
}

func (f *updater) Update(ctx context.Context, providerID string, u notify.Update) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, update{providerID, u})
	return nil
}

func (f *updater) updates() []update {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// A chat message already sent shows who acknowledged and closed its alert:
// each change is shown once, whichever engine sees it, however often the
// engines run.
func TestChatMessageShowsStatusChangesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const base = "https://lm.example"
		w := newWorld(t, db)
		slack := notify.NewRecorder("slack")
		w.channels.Set(slack)
		hook, err := w.teams.AddContactMethod(w.ctx, w.users["ann"], "slack", "https://hooks.slack.example/services/T1", "")
		if err != nil {
			t.Fatal(err)
		}
		w.rules(team.TeamRule{Channel: "slack"})
		w.punch("ann", false)
		up := &updater{}
		opt := engine.Options{BaseURL: base, Updates: func(channel string) (notify.Updater, bool) {
			if channel == "slack" {
				return up, true
			}
			return nil, false
		}}
		e1, e2 := w.engineWith("e1", opt), w.engineWith("e2", opt)
		id := w.raise(`{"Title":"x"}`)
		w.run(e1)
		if n := len(slack.Sent()); n != 1 {
			t.Fatalf("%d Slack messages", n)
		}
		if r := w.one(id, "slack"); r.ProviderID != "slack-1" {
			t.Fatalf("stored provider id %q, want the recorder's slack-1", r.ProviderID)
		}
		if got := up.updates(); len(got) != 0 {
			t.Fatalf("updates before any change: %+v", got)
		}

		w.clock.Advance(time.Minute)
		w.transition(id, "acknowledge", "ann")
		w.run(e1)
		w.run(e1)
		w.run(e2)
		got := up.updates()
		if len(got) != 1 {
			t.Fatalf("%d updates after the acknowledgement, want 1: %+v", len(got), got)
		}
		u := got[0].u
		if got[0].providerID != "slack-1" || u.AlertID != id || u.Title != "x" || u.Status != "acknowledged" || u.By != "Ann" ||
			!u.At.Equal(w.clock.Now()) || u.Address != hook.Address || u.AlertURL != base+"/alerts/"+id {
			t.Fatalf("update of message %q: %+v", got[0].providerID, u)
		}

		w.transition(id, "close", "ann")
		var wg sync.WaitGroup
		for _, e := range []*engine.Engine{e1, e2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					if err := e.RunOnce(w.ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		got = up.updates()
		if len(got) != 2 || got[1].u.Status != "closed" || got[1].providerID != "slack-1" {
			t.Fatalf("updates after closing with two engines: %+v", got)
		}
	})
}

// A held message goes out the moment the oldest message in the window
// leaves it, not a whole window after it was held.
func TestHeldSMSGoesOutWhenTheWindowFrees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.limits = notify.Limits{"sms": {{N: 1, Per: time.Minute}}}
		w.rules(team.TeamRule{Channel: "sms"})
		w.punch("ann", false)
		e := w.engine("e1")
		start := w.clock.Now()
		w.raise(`{"Title":"first"}`)
		w.run(e)
		w.clock.Advance(50 * time.Second)
		second := w.raise(`{"Title":"second"}`)
		w.run(e)
		if held := w.one(second, "sms"); !held.Due.Equal(start.Add(time.Minute)) {
			t.Fatalf("held until %s, want %s (when the first SMS leaves the window)", held.Due, start.Add(time.Minute))
		}
		w.clock.Set(start.Add(time.Minute))
		w.run(e)
		if n := len(w.rec["sms"].Sent()); n != 2 {
			t.Fatalf("%d SMS once the window freed", n)
		}
	})
}

// Two members who share one phone number get one SMS for an alert.
func TestSharedNumberGetsOneMessagePerAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.rules(team.TeamRule{Channel: "sms"})
		var shared string
		db.QueryRow(w.ctx, `SELECT address FROM contact_methods WHERE user_id = ? AND channel = 'sms'`, w.users["ann"]).Scan(&shared)
		if _, err := db.Exec(w.ctx, `UPDATE contact_methods SET address = ? WHERE user_id = ? AND channel = 'sms'`, shared, w.users["bob"]); err != nil {
			t.Fatal(err)
		}
		w.punch("ann", false)
		w.punch("bob", false)
		e := w.engine("e1")
		id := w.raise(`{"Title":"team phone"}`)
		w.run(e)
		if n := len(w.rec["sms"].Sent()); n != 1 {
			t.Fatalf("%d SMS to one shared number", n)
		}
		var sent int
		db.QueryRow(w.ctx, `SELECT COUNT(*) FROM notifications WHERE alert_id = ? AND channel = 'sms' AND status = 'sent'`, id).Scan(&sent)
		if sent != 2 {
			t.Fatalf("%d notifications recorded as sent, want both members'", sent)
		}
	})
}

// A delivery report that beat the engine to recording the provider's id
// is applied once the id is recorded.
func TestEarlyDeliveryReportIsApplied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		w.punch("ann", false)
		if _, err := db.Exec(w.ctx, `INSERT INTO early_deliveries (channel, provider_id, status, detail, at) VALUES ('push', 'push-1', 'delivered', '', 1)`); err != nil {
			t.Fatal(err)
		}
		var got []string
		e := engine.New(w.db, w.clock, w.teams, w.duty, w.channels, slog.New(slog.DiscardHandler), engine.Options{InstanceID: "e1",
			Deliveries: func(ctx context.Context, channel, providerID, status, detail string) error {
				got = append(got, channel+" "+providerID+" "+status)
				return nil
			}})
		w.raise(`{"Title":"x"}`)
		w.run(e)
		if len(got) != 1 || got[0] != "push push-1 delivered" {
			t.Fatalf("reports applied: %q", got)
		}
		var left int
		db.QueryRow(w.ctx, `SELECT COUNT(*) FROM early_deliveries`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d early reports left", left)
		}
	})
}
