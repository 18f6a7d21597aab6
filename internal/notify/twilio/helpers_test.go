package twilio

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

// inboundCall is one call into the recording Inbound.
type inboundCall struct {
	Method string
	Args   []string
}

// recInbound records what the callbacks pass on and answers as told.
type recInbound struct {
	mu          sync.Mutex
	calls       []inboundCall
	textAnswer  string
	textErr     error
	result      notify.Result
	respondErr  error
	deliveryErr error
}

func (r *recInbound) record(method string, args ...string) {
	r.mu.Lock()
	r.calls = append(r.calls, inboundCall{method, args})
	r.mu.Unlock()
}

func (r *recInbound) Calls() []inboundCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inboundCall(nil), r.calls...)
}

func (r *recInbound) Redeem(ctx context.Context, token, note string) (notify.Result, error) {
	r.record("Redeem", token, note)
	return notify.Result{}, nil
}

func (r *recInbound) Respond(ctx context.Context, notificationID, action, note string) (notify.Result, error) {
	r.record("Respond", notificationID, action, note)
	return r.result, r.respondErr
}

func (r *recInbound) TextReply(ctx context.Context, channel, from, body string) (string, error) {
	r.record("TextReply", channel, from, body)
	return r.textAnswer, r.textErr
}

func (r *recInbound) Delivery(ctx context.Context, channel, providerID, status, detail string) error {
	r.record("Delivery", channel, providerID, status, detail)
	return r.deliveryErr
}

// env is a fake Twilio, a lastmile callback server and the channels built
// against both.
type env struct {
	tw    *twiliotest.Server
	lm    *httptest.Server
	base  string // lastmile's base URL: lm's
	in    *recInbound
	sms   *SMS
	voice *Voice
}

// newEnv builds the channels from the fake's settings, changed by edit.
func newEnv(t *testing.T, edit func(map[string]string)) *env {
	t.Helper()
	e := &env{tw: twiliotest.New(twiliotest.AccountSID, twiliotest.AuthToken), in: &recInbound{}}
	t.Cleanup(e.tw.Close)
	var cb notify.Callbacks
	// The server starts once the channels exist, so its handler never sees
	// cb unset.
	e.lm = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := cb.Callback(strings.TrimPrefix(r.URL.Path, "/callbacks/twilio/"))
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	e.base = "http://" + e.lm.Listener.Addr().String()
	settings := map[string]string{}
	json.Unmarshal(e.tw.Settings(twiliotest.Number), &settings)
	settings["voiceName"] = "Polly.Joanna"
	if edit != nil {
		edit(settings)
	}
	raw, _ := json.Marshal(settings)
	chs, err := Provider().Build(raw, e.deps())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	e.sms, e.voice = chs[0].(*SMS), chs[1].(*Voice)
	cb = e.sms
	e.lm.Start()
	t.Cleanup(e.lm.Close)
	return e
}

func (e *env) deps() notify.Deps {
	return notify.Deps{
		Log:     slog.New(slog.DiscardHandler),
		Clock:   clock.NewFake(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)),
		BaseURL: e.base,
		HTTP:    e.tw.Client,
		Guarded: notify.GuardedClient(true, 5*time.Second),
		Inbound: e.in,
	}
}

// alert is a typical alert notification to a German mobile number.
func alert() notify.Message {
	return notify.Message{
		NotificationID: "n1", AlertID: "a1", TeamID: "t1", TeamName: "Ops", UserID: "u1",
		Address: "+49 151 1234 5678", Kind: "alert", Title: "Disk full on db1", Severity: "high", ReplyCode: "3",
	}
}
