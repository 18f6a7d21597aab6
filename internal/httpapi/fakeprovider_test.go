package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/lastmile/lastmile/internal/notify"
)

// fakeProvider is a channel provider named "fake" serving the channels sms
// and email. Its settings are {"token": "...", "failCheck": bool}; the
// token is its secret. Every channel it builds reports to the one
// fakeProvider, so a test sees what was sent whichever settings were
// current, and with which token.
type fakeProvider struct {
	mu    sync.Mutex
	sent  []fakeSent
	hooks []fakeHook
}

// fakeSent is one message a fake channel took, with the token of the
// settings the channel was built from.
type fakeSent struct {
	Token string
	notify.Message
}

// fakeHook is one callback the fake's "hook" handler accepted.
type fakeHook struct {
	Token string
	Body  string
}

type fakeSettings struct {
	Token     string `json:"token"`
	FailCheck bool   `json:"failCheck"`
}

// errFakeRefused is what a fake channel's credential check fails with.
var errFakeRefused = errors.New("fake refused the token")

func (f *fakeProvider) provider() notify.Provider {
	return notify.Provider{Name: "fake", Channels: []string{"sms", "email"}, Secrets: []string{"token"}, Build: f.build}
}

func (f *fakeProvider) build(raw json.RawMessage, _ notify.Deps) ([]notify.Channel, error) {
	var s fakeSettings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if s.Token == "" {
		return nil, fmt.Errorf("token is required: %w", notify.ErrNotConfigured)
	}
	return []notify.Channel{&fakeChannel{name: "sms", s: s, f: f}, &fakeChannel{name: "email", s: s, f: f}}, nil
}

// Sent returns the messages sent so far.
func (f *fakeProvider) Sent() []fakeSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSent(nil), f.sent...)
}

// last returns the latest message sent, and false if there is none.
func (f *fakeProvider) last() (fakeSent, bool) {
	s := f.Sent()
	if len(s) == 0 {
		return fakeSent{}, false
	}
	return s[len(s)-1], true
}

// Hooks returns the callbacks accepted so far.
func (f *fakeProvider) Hooks() []fakeHook {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeHook(nil), f.hooks...)
}

// fakeChannel records what it is given. It is a notify.Checker and takes
// the provider callback "hook", signed with the header X-Fake-Signature
// carrying the token.
type fakeChannel struct {
	name string
	s    fakeSettings
	f    *fakeProvider
}

var (
	_ notify.Checker   = (*fakeChannel)(nil)
	_ notify.Callbacks = (*fakeChannel)(nil)
)

func (c *fakeChannel) Name() string { return c.name }

func (c *fakeChannel) Send(_ context.Context, m notify.Message) (string, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.sent = append(c.f.sent, fakeSent{Token: c.s.Token, Message: m})
	return fmt.Sprintf("fake-%d", len(c.f.sent)), nil
}

func (c *fakeChannel) Check(context.Context) error {
	if c.s.FailCheck {
		return errFakeRefused
	}
	return nil
}

func (c *fakeChannel) Callback(path string) http.Handler {
	if path != "hook" {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Fake-Signature") != c.s.Token {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		// Deliberately unbounded: the route must bound the body.
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		c.f.mu.Lock()
		c.f.hooks = append(c.f.hooks, fakeHook{Token: c.s.Token, Body: string(b)})
		c.f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
}
