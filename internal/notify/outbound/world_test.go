package outbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// start is the fake clock's first reading; its microseconds show in
// eventRaisedUtc.
var start = time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)

// world is a migrated database with two teams, two members of the first,
// a receiver, and the services under test.
type world struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clock  *clock.Fake
	box    *seal.Box
	teams  *team.Service
	alerts *alert.Service
	duty   *duty.Service
	svc    *outbound.Service
	ops    team.Team
	dev    team.Team
	ann    team.User // has a name
	bob    team.User // has none: his email is his username
	rcv    *receiver
	dlv    *outbound.Deliverer
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(start)
	box, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	batch := store.NewBatcher(db, store.BatcherOptions{})
	t.Cleanup(batch.Close)
	ts := team.NewService(db, c)
	w := &world{t: t, ctx: ctx, db: db, clock: c, box: box, teams: ts, alerts: alert.NewService(db, batch, c, ts), duty: duty.NewService(db, c, ts)}
	if w.ops, _, err = ts.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	if w.dev, _, err = ts.CreateTeam(ctx, "Dev", ""); err != nil {
		t.Fatal(err)
	}
	if w.ann, err = ts.CreateUser(ctx, team.NewUser{Email: "ann@example.com", Name: "Ann Admin"}); err != nil {
		t.Fatal(err)
	}
	if w.bob, err = ts.CreateUser(ctx, team.NewUser{Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []team.User{w.ann, w.bob} {
		if _, err := ts.AddMember(ctx, w.ops.ID, u.ID, team.RoleResponder); err != nil {
			t.Fatal(err)
		}
	}
	w.rcv = newReceiver(t)
	w.svc = outbound.NewService(db, box, c, outbound.Options{AllowPrivate: true, BaseURL: "https://lastmile.example"})
	w.dlv = outbound.NewDeliverer(db, box, c, w.rcv.srv.Client(), nil, outbound.DelivererOptions{InstanceID: "test"})
	return w
}

// hook registers a webhook of team to the receiver.
func (w *world) hook(teamID string, events ...int) (outbound.Webhook, string) {
	w.t.Helper()
	h, secret, err := w.svc.Create(w.ctx, teamID, w.rcv.srv.URL+"/in?token=abc", events)
	if err != nil {
		w.t.Fatal(err)
	}
	return h, secret
}

// raise opens an alert in Ops as an inbound webhook would.
func (w *world) raise(body string) string {
	w.t.Helper()
	b, err := ingest.ParseBody("application/json", []byte(body), ingest.DefaultLimits)
	if err != nil {
		w.t.Fatal(err)
	}
	ev := ingest.Interpret(b, ingest.Mapping{}, http.Header{})
	out, err := w.alerts.Ingest(w.ctx, alert.Inbound{Team: w.ops, Raw: alert.Raw{Source: "webhook", Headers: map[string]string{}, Body: []byte(body)}, Event: &ev})
	if err != nil || out.Status != alert.EventCreated {
		w.t.Fatalf("raise: %+v %v", out, err)
	}
	return out.AlertID
}

func allowAll(string) bool { return true }

// act applies a status action by a member.
func (w *world) act(alertID, action string, u team.User) {
	w.t.Helper()
	if _, err := w.alerts.Transition(w.ctx, alertID, action, alert.UserActor(u), "", allowAll); err != nil {
		w.t.Fatalf("%s: %v", action, err)
	}
}

// run delivers what is due.
func (w *world) run() {
	w.t.Helper()
	if err := w.dlv.RunOnce(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// deliveries lists a webhook's deliveries, oldest first.
func (w *world) deliveries(h outbound.Webhook) []outbound.Delivery {
	w.t.Helper()
	ds, err := w.svc.Deliveries(w.ctx, h.TeamID, h.ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// timelineID returns the id of the alert's last timeline entry of kind.
func (w *world) timelineID(alertID, kind string) string {
	w.t.Helper()
	var id string
	if err := w.db.QueryRow(w.ctx, `SELECT CAST(MAX(id) AS TEXT) FROM timeline WHERE alert_id = ? AND kind = ?`, alertID, kind).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// eventType is the payload's eventType.
func (r received) eventType() int {
	var p struct{ EventType int }
	json.Unmarshal(r.body, &p)
	return p.EventType
}

// receiver records what it is sent and answers 200, or what it is told to
// answer next.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
	next []answer
	// rule, if set, picks the answer to a request before next does.
	rule func(r received) (answer, bool)
}

type answer struct {
	status int
	body   string
	header map[string]string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.reqs = append(r.reqs, received{header: req.Header.Clone(), body: body})
		a, ruled := answer{status: http.StatusOK}, false
		if r.rule != nil {
			if ra, ok := r.rule(r.reqs[len(r.reqs)-1]); ok {
				a, ruled = ra, true
			}
		}
		if !ruled && len(r.next) > 0 {
			a, r.next = r.next[0], r.next[1:]
		}
		r.mu.Unlock()
		for k, v := range a.header {
			rw.Header().Set(k, v)
		}
		rw.WriteHeader(a.status)
		io.WriteString(rw, a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// answerNext queues answers for the next requests.
func (r *receiver) answerNext(as ...answer) {
	r.mu.Lock()
	r.next = append(r.next, as...)
	r.mu.Unlock()
}

// answerIf sets the rule.
func (r *receiver) answerIf(rule func(r received) (answer, bool)) {
	r.mu.Lock()
	r.rule = rule
	r.mu.Unlock()
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// only returns the one request received since n were, failing otherwise.
func (r *receiver) only(t *testing.T, n int) received {
	t.Helper()
	got := r.got()
	if len(got) != n+1 {
		t.Fatalf("receiver got %d requests, want %d", len(got), n+1)
	}
	return got[n]
}

// checkSigned checks the request's headers and signature.
func checkSigned(t *testing.T, r received, secret string, now time.Time) {
	t.Helper()
	if err := outbound.Verify([]byte(secret), r.header.Get(outbound.HeaderSignature), r.body, now, 5*time.Minute); err != nil {
		t.Errorf("signature %q does not verify: %v", r.header.Get(outbound.HeaderSignature), err)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "lastmile-webhooks"} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var p struct {
		ID        string
		EventType int
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if got := r.header.Get(outbound.HeaderEventID); got != p.ID || p.ID == "" {
		t.Errorf("%s = %q, payload id %q", outbound.HeaderEventID, got, p.ID)
	}
	if got, want := r.header.Get(outbound.HeaderEventType), strings.TrimSpace(string(mustJSON(p.EventType))); got != want {
		t.Errorf("%s = %q, want %q", outbound.HeaderEventType, got, want)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("payload differs\ngot:  %s\nwant: %s", gi, wi)
	}
}

// fakeResolver answers from a table; other names do not exist.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}
