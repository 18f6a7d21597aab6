package microsoft_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/ingest"
)

const (
	tenant = "11111111-1111-1111-1111-111111111111"
	client = "22222222-2222-2222-2222-222222222222"
	secret = "s3cret~value"
	sub    = "33333333-3333-3333-3333-333333333333"
	rg     = "soc-rg"
	wsName = "soc-ws"
	wsID   = "44444444-4444-4444-4444-444444444444"
	dcrID  = "dcr-00000000000000000000000000000001"
)

// wsResourceID is the workspace's ARM id, where roles are assigned.
var wsResourceID = azureemu.Workspace{SubscriptionID: sub, ResourceGroup: rg, Name: wsName}.ResourceID()

// sleeper records the waits between retries instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

type env struct {
	emu    *azureemu.Emulator
	clock  *clock.Fake
	ws     azureemu.Workspace
	sleeps *sleeper
	// http is what the connector talks through; tests may wrap its
	// transport to act between two of the connector's requests.
	http *http.Client
}

// newEnv starts the emulator with the tenant, the connector's app (its
// client id and secret filled in when empty) and the workspace. Keep the
// fake clock near the wall clock: MSAL and TLS use the latter.
func newEnv(t *testing.T, app azureemu.App) *env {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	emu := azureemu.New(azureemu.Options{Clock: clk})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	if err := emu.AddTenant(tenant, "contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	if app.ClientID == "" {
		app.ClientID = client
	}
	if app.Secret == "" {
		app.Secret = secret
	}
	if _, err := emu.AddApp(tenant, app); err != nil {
		t.Fatal(err)
	}
	ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: sub, ResourceGroup: rg, Name: wsName, WorkspaceID: wsID, TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, clock: clk, ws: ws, sleeps: &sleeper{}, http: emu.Client()}
}

// armApp is the connector's app holding roles on the workspace.
func armApp(roles ...string) azureemu.App {
	return azureemu.App{ARMRoles: map[string][]string{wsResourceID: roles}}
}

// graphApp is the connector's app holding Graph application permissions.
func graphApp(perms ...string) azureemu.App {
	return azureemu.App{GraphRoles: perms}
}

// settings are a Sentinel connector's settings pointing at the emulator,
// with extra merged in (a nil value removes a field).
func (e *env) settings(extra map[string]any) json.RawMessage {
	u := e.emu.URL()
	s := map[string]any{
		"tenantId": tenant, "clientId": client, "clientSecret": secret,
		"subscriptionId": sub, "resourceGroup": rg, "workspaceName": wsName,
		"endpoints": map[string]any{"authorityHost": u + "/", "resourceManager": u, "graph": u, "logAnalytics": u},
	}
	maps.Copy(s, extra)
	for k, v := range s {
		if v == nil {
			delete(s, k)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

func (e *env) kind() connector.Kind {
	return microsoft.Kind(microsoft.Options{HTTP: e.http, Clock: e.clock, Sleep: e.sleeps.sleep})
}

// source builds a source of mode against the emulator.
func (e *env) source(t *testing.T, mode string, extra map[string]any) connector.Source {
	t.Helper()
	src, err := e.kind().Build(mode, e.settings(extra))
	if err != nil {
		t.Fatalf("build %s: %v", mode, err)
	}
	return src
}

// requests counts the emulator's answered requests matching method (any
// when empty) whose path contains part.
func (e *env) requests(method, part string) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

// hookTransport calls before ahead of the first request matching match,
// once: a change made at the source while the connector works.
type hookTransport struct {
	next   http.RoundTripper
	match  func(*http.Request) bool
	before func()
	once   sync.Once
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.match(r) {
		h.once.Do(h.before)
	}
	return h.next.RoundTrip(r)
}

// param returns the value of the item's parameter name and whether it is
// there.
func param(ps []ingest.Param, name string) (string, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// byID indexes items by external id.
func byID(items []connector.Item) map[string]connector.Item {
	m := make(map[string]connector.Item, len(items))
	for _, it := range items {
		m[it.ExternalID] = it
	}
	return m
}
