package push

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

// memKeys is an in-memory notify.Keys that counts key creations.
type memKeys struct {
	mu      sync.Mutex
	keys    map[string][]byte
	created int
}

func (k *memKeys) GetOrCreate(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.keys[name]; ok {
		return b, nil
	}
	b, err := gen()
	if err != nil {
		return nil, err
	}
	if k.keys == nil {
		k.keys = map[string][]byte{}
	}
	k.keys[name] = b
	k.created++
	return b, nil
}

var start = time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	ch    *Channel
	srv   *pushtest.Server
	clock *clock.Fake
	keys  *memKeys
}

// newFixture is a push channel with settings, and a fake push service on
// the same fake clock.
func newFixture(t *testing.T, settings string) fixture {
	t.Helper()
	clk := clock.NewFake(start)
	keys := &memKeys{}
	ch, err := New(json.RawMessage(settings), testDeps(clk, keys, notify.GuardedClient(true, 5*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ch: ch, srv: pushtest.NewServer(t, pushtest.WithClock(clk)), clock: clk, keys: keys}
}

func testDeps(clk clock.Clock, keys notify.Keys, guarded *http.Client) notify.Deps {
	return notify.Deps{
		Log: slog.New(slog.DiscardHandler), Clock: clk, BaseURL: "https://lastmile.example",
		HTTP: http.DefaultClient, Guarded: guarded, Keys: keys,
	}
}

func alertMessage(addr string) notify.Message {
	return notify.Message{
		NotificationID: "n-1", AlertID: "a-42", TeamID: "t-1", TeamName: "Ops", UserID: "u-1",
		Channel: "push", Address: addr, Kind: "alert", Round: 1,
		Title: "Disk full on db1", Text: "/var is at 99%", Severity: "critical",
		AlertURL: "https://lastmile.example/alerts/a-42",
		Actions: []notify.Action{
			{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/a/tok1", Token: "tok1"},
			{Name: "close", Label: "Close", URL: "https://lastmile.example/a/tok2", Token: "tok2"},
		},
	}
}
