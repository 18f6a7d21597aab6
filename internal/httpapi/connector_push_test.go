package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

const (
	pushTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	pushClient = "5b1f7c3e-2d4a-4e8b-9f6c-1a2b3c4d5e6f"
	pushSub    = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	pushRG     = "soc-rg"
	pushWS     = "soc-ws"
)

// pushEnv is a server whose connectors are the real Microsoft kind,
// talking to the Azure emulator, with a sentinel connector and its push
// secret made by the team's admin.
type pushEnv struct {
	*env
	emu      *azureemu.Emulator
	run      *connector.Runner
	wakes    atomic.Int32
	adminKey string // the team admin's
	conn     connector.Connector
	secret   string
	pushURL  string
}

func newPushEnv(t *testing.T, d store.Dialect) *pushEnv {
	t.Helper()
	emu := azureemu.New(azureemu.Options{})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	emu.AddTenant(pushTenant)
	ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: pushSub, ResourceGroup: pushRG, Name: pushWS})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AddApp(pushTenant, azureemu.App{ClientID: pushClient, Secret: "app-secret",
		ARMRoles: map[string][]string{ws.ResourceID(): {"Microsoft Sentinel Responder"}}}); err != nil {
		t.Fatal(err)
	}
	pe := &pushEnv{emu: emu}
	log := slog.New(slog.DiscardHandler)
	noSleep := func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	withMicrosoft := func(e *env, _ *httpapi.Channels) {
		// The emulator and the Azure SDK go by the wall clock; the
		// connector's own timing by the env's.
		e.connectors = connector.NewService(e.db, e.box, e.clock,
			microsoft.Kind(microsoft.Options{HTTP: emu.Client(), Clock: clock.Real{}, Log: log, Sleep: noSleep}))
	}
	pe.env = newEnvWith(t, d, httpapi.Config{Wake: func() { pe.wakes.Add(1) }}, withMicrosoft)
	pe.run = connector.NewRunner(pe.connectors, pe.alerts, pe.teams, log, connector.RunnerOptions{InstanceID: "poller"})
	_, pe.adminKey = pe.user("lead@example.com", pe.team.ID, team.RoleAdmin)

	u := emu.URL()
	settings := map[string]any{"tenantId": pushTenant, "subscriptionId": pushSub, "clientId": pushClient, "clientSecret": "app-secret",
		"resourceGroup": pushRG, "workspaceName": pushWS, "workspaceId": ws.WorkspaceID,
		"endpoints": map[string]string{"authorityHost": u + "/", "resourceManager": u, "graph": u, "logAnalytics": u}}
	r := pe.api("POST", connectorsPath(pe.team.ID), pe.adminKey, map[string]any{"name": "Sentinel", "source": "sentinel", "settings": settings})
	if r.status != http.StatusCreated {
		t.Fatalf("create connector: %d %s", r.status, r.body)
	}
	decodeInto(t, r, &pe.conn)
	pe.secret, pe.pushURL = pe.rotate(pe.adminKey)
	// The first poll is done, so the next one is an interval away: what
	// a push raises is the push's doing.
	pe.poll()
	return pe
}

// rotate makes a new push secret as the holder of key.
func (pe *pushEnv) rotate(key string) (secret, url string) {
	pe.t.Helper()
	r := pe.api("POST", connectorsPath(pe.team.ID, pe.conn.ID, "push-secret"), key, nil)
	if r.status != http.StatusOK {
		pe.t.Fatalf("push secret: %d %s", r.status, r.body)
	}
	var got struct {
		connector.PushInfo
		Secret  string `json:"secret"`
		PushURL string `json:"pushUrl"`
	}
	decodeInto(pe.t, r, &got)
	if got.Secret == "" || got.PushURL != "http://lastmile.test/api/v1/connectors/push/"+got.Secret || !got.Enabled || !got.Available ||
		got.SecretPrefix != got.Secret[:6] {
		pe.t.Fatalf("push secret answer %s", r.body)
	}
	return got.Secret, got.PushURL
}

// poll runs the connector's poller once (it polls what is due).
func (pe *pushEnv) poll() {
	pe.t.Helper()
	if err := pe.run.RunOnce(context.Background()); err != nil {
		pe.t.Fatal(err)
	}
}

// pushTo posts body to the push route with the secret.
func (pe *pushEnv) pushTo(secret, body string) response {
	pe.t.Helper()
	return pe.do("POST", "/api/v1/connectors/push/"+secret, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
}

// trigger plays the push playbook for the incident: the emulator's
// incident trigger envelope posted to the push URL on the test server.
func (pe *pushEnv) trigger(name string) response {
	pe.t.Helper()
	status, body, err := pe.emu.PushIncident(context.Background(), nil, pe.srv.URL+"/api/v1/connectors/push/"+pe.secret, name)
	if err != nil {
		pe.t.Fatal(err)
	}
	return response{status: status, body: body}
}

func (pe *pushEnv) incident(title string) azureemu.Incident {
	pe.t.Helper()
	inc, err := pe.emu.AddIncident(pushWS, azureemu.Incident{Title: title, Severity: "High", Status: "New"})
	if err != nil {
		pe.t.Fatal(err)
	}
	return inc
}

func pushResult(t *testing.T, r response, status int) connector.PushResult {
	t.Helper()
	if r.status != status {
		t.Fatalf("push: %d %s, want %d", r.status, r.body, status)
	}
	var res connector.PushResult
	decodeInto(t, r, &res)
	return res
}

// alertsOf counts the alerts of the incident.
func (pe *pushEnv) alertsOf(name string) []string {
	var ids []string
	for _, a := range pe.listAlerts("?limit=100") {
		if a.ExternalID == name {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

func TestConnectorPushRaisesTheIncidentAtOnce(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			pe := newPushEnv(t, d)
			inc := pe.incident("Impossible travel for ann")
			res := pushResult(t, pe.trigger(inc.Name), http.StatusOK)
			if res.Status != connector.PushCreated || res.AlertID == "" || res.ExternalID != inc.Name || res.ConnectorID != pe.conn.ID {
				t.Fatalf("push %+v", res)
			}
			a := pe.alert(res.AlertID)
			if a.Title != "Impossible travel for ann" || a.Severity != "high" || a.ExternalID != inc.Name {
				t.Fatalf("alert %+v", a)
			}
			if pe.wakes.Load() == 0 {
				t.Fatal("the engine was not woken")
			}

			// The poll finds it linked; the Logic App retrying finds it too.
			pe.clock.Advance(time.Minute)
			pe.poll()
			res = pushResult(t, pe.trigger(inc.Name), http.StatusOK)
			if res.Status != connector.PushExists || res.AlertID != a.ID {
				t.Fatalf("second push %+v", res)
			}
			if ids := pe.alertsOf(inc.Name); len(ids) != 1 {
				t.Fatalf("alerts %v, want one", ids)
			}

			// Poll first, then the push: nothing more.
			late := pe.incident("Mass download")
			pe.clock.Advance(time.Minute)
			pe.poll()
			polled := pe.alertsOf(late.Name)
			if len(polled) != 1 {
				t.Fatalf("the poll raised %v", polled)
			}
			res = pushResult(t, pe.trigger(late.Name), http.StatusOK)
			if res.Status != connector.PushExists || res.AlertID != polled[0] {
				t.Fatalf("push after the poll %+v, want exists with %s", res, polled[0])
			}

			r := pe.api("GET", connectorsPath(pe.team.ID, pe.conn.ID, "push"), pe.adminKey, nil)
			var info connector.PushInfo
			decodeInto(t, r, &info)
			if r.status != 200 || info.Pushes != 3 || info.LastResult != connector.PushExists || info.LastPushAt == nil {
				t.Fatalf("push info %d %s", r.status, r.body)
			}
			m := pe.do("GET", "/metrics", nil, nil)
			for _, want := range []string{`lastmile_connector_pushes_total{result="created"} 1`, `lastmile_connector_pushes_total{result="exists"} 2`} {
				if !strings.Contains(string(m.body), want) {
					t.Fatalf("metrics lack %s", want)
				}
			}
		})
	}
}

// Azure failing during the read: 202, and the connector polls at once.
func TestConnectorPushWhenAzureFails(t *testing.T) {
	pe := newPushEnv(t, store.SQLite)
	inc := pe.incident("Ransomware on host1")
	pe.emu.Fail(azureemu.FailRule{PathContains: "/incidents/" + inc.Name, Method: "GET", Status: 503, Times: 50})
	res := pushResult(t, pe.trigger(inc.Name), http.StatusAccepted)
	if res.Status != connector.PushQueued || res.AlertID != "" || res.Note == "" {
		t.Fatalf("push %+v", res)
	}
	if ids := pe.alertsOf(inc.Name); len(ids) != 0 {
		t.Fatalf("alerts %v before the poll", ids)
	}
	pe.emu.ClearFaults()
	pe.poll() // no time passed: the push made it due
	if ids := pe.alertsOf(inc.Name); len(ids) != 1 {
		t.Fatalf("after the poll: alerts %v, want one", ids)
	}
}

func TestConnectorPushRefusals(t *testing.T) {
	pe := newPushEnv(t, store.SQLite)
	inc := pe.incident("Brute force")

	wantError(t, "unknown secret", pe.pushTo("no-such-secret", `{"incidentId":"`+inc.Name+`"}`), http.StatusNotFound, "unknown push secret")
	for _, body := range []string{`{}`, `{"title":"x"}`, `not json`, ``} {
		r := pe.pushTo(pe.secret, body)
		wantError(t, "body "+body, r, http.StatusBadRequest, "names no item")
		if d, _ := r.json(t)["details"].(string); !strings.Contains(d, "incidentId") {
			t.Fatalf("body %q: details %q do not say what to send", body, d)
		}
	}
	wantError(t, "another workspace", pe.pushTo(pe.secret, `{"workspaceInfo":{"WorkspaceName":"other-ws"},"object":{"name":"`+inc.Name+`"}}`),
		http.StatusBadRequest, "names no item")

	// 256 KiB at most: a longer body still works when it names the
	// incident first, and is too large when it does not.
	pad := strings.Repeat("x", 300<<10)
	res := pushResult(t, pe.pushTo(pe.secret, `{"incidentId":"`+inc.Name+`","padding":"`+pad+`"}`), http.StatusOK)
	if res.Status != connector.PushCreated {
		t.Fatalf("long body naming the incident first: %+v", res)
	}
	wantError(t, "long body naming nothing", pe.pushTo(pe.secret, `{"padding":"`+pad+`","incidentId":"`+inc.Name+`"}`), http.StatusRequestEntityTooLarge, "256")

	off := false
	if r := pe.api("PATCH", connectorsPath(pe.team.ID, pe.conn.ID), pe.adminKey, map[string]any{"enabled": off}); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	other := pe.incident("Phishing")
	wantError(t, "disabled connector", pe.trigger(other.Name), http.StatusConflict, "disabled")
	if ids := pe.alertsOf(other.Name); len(ids) != 0 {
		t.Fatal("a disabled connector raised an alert")
	}
	m := pe.do("GET", "/metrics", nil, nil)
	for _, want := range []string{`result="unknown_secret"} 1`, `result="invalid"} 5`, `result="too_large"} 1`, `result="refused"} 1`} {
		if !strings.Contains(string(m.body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

func TestConnectorPushSecretRoles(t *testing.T) {
	pe := newPushEnv(t, store.SQLite)
	_, managerKey := pe.user("manager@example.com", pe.team.ID, team.RoleManager)
	_, responderKey := pe.user("responder@example.com", pe.team.ID, team.RoleResponder)
	other, _, err := pe.teams.CreateTeam(context.Background(), "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	_, strangerKey := pe.user("stranger@example.com", other.ID, team.RoleAdmin)
	secretPath := connectorsPath(pe.team.ID, pe.conn.ID, "push-secret")
	infoPath := connectorsPath(pe.team.ID, pe.conn.ID, "push")

	for _, tc := range []struct {
		who, key, method, path string
		status                 int
	}{
		{"responder rotates", responderKey, "POST", secretPath, 403},
		{"manager rotates", managerKey, "POST", secretPath, 403},
		{"another team's admin rotates", strangerKey, "POST", secretPath, 404},
		{"no key rotates", "", "POST", secretPath, 401},
		{"responder turns off", responderKey, "DELETE", secretPath, 403},
		{"manager turns off", managerKey, "DELETE", secretPath, 403},
		{"responder reads", responderKey, "GET", infoPath, 403},
		{"another team's admin reads", strangerKey, "GET", infoPath, 404},
		{"manager reads", managerKey, "GET", infoPath, 200},
		{"admin reads", pe.env.adminKey, "GET", infoPath, 200},
	} {
		if r := pe.api(tc.method, tc.path, tc.key, nil); r.status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.who, r.status, r.body, tc.status)
		}
	}
	// The refusals changed nothing: the secret still works.
	inc := pe.incident("Still pushed")
	if res := pushResult(t, pe.trigger(inc.Name), 200); res.Status != connector.PushCreated {
		t.Fatalf("push %+v", res)
	}
	r := pe.api("GET", infoPath, managerKey, nil)
	if strings.Contains(string(r.body), pe.secret) {
		t.Fatalf("the push info shows the secret: %s", r.body)
	}

	// Instance administrators may rotate; the old URL stops at once.
	old := pe.secret
	pe.secret, _ = pe.rotate(pe.env.adminKey)
	wantError(t, "old secret", pe.pushTo(old, `{"incidentId":"`+inc.Name+`"}`), 404, "unknown push secret")
	if res := pushResult(t, pe.trigger(inc.Name), 200); res.Status != connector.PushExists {
		t.Fatalf("push with the new secret %+v", res)
	}
	if r := pe.api("DELETE", secretPath, pe.adminKey, nil); r.status != http.StatusNoContent {
		t.Fatalf("turn off: %d %s", r.status, r.body)
	}
	wantError(t, "after turning off", pe.pushTo(pe.secret, `{"incidentId":"`+inc.Name+`"}`), 404, "unknown push secret")
	r = pe.api("GET", infoPath, managerKey, nil)
	var info connector.PushInfo
	decodeInto(t, r, &info)
	if info.Enabled || !info.Available || info.SecretPrefix != "" {
		t.Fatalf("push info after turning off: %s", r.body)
	}

	// Legacy Graph alerts cannot be read one by one: no push secret.
	legacy := pe.api("POST", connectorsPath(pe.team.ID), pe.adminKey, map[string]any{"name": "Legacy", "source": "graph_legacy",
		"settings": map[string]any{"tenantId": pushTenant, "clientId": pushClient, "clientSecret": "app-secret"}})
	if legacy.status != http.StatusCreated {
		t.Fatalf("create legacy: %d %s", legacy.status, legacy.body)
	}
	var lc connector.Connector
	decodeInto(t, legacy, &lc)
	wantError(t, "legacy push secret", pe.api("POST", connectorsPath(pe.team.ID, lc.ID, "push-secret"), pe.adminKey, nil), http.StatusConflict, "cannot take pushes")
	r = pe.api("GET", connectorsPath(pe.team.ID, lc.ID, "push"), pe.adminKey, nil)
	if err := json.Unmarshal(r.body, &info); err != nil || r.status != 200 || info.Available || !strings.Contains(info.Reason, "graph_legacy") {
		t.Fatalf("legacy push info: %d %s", r.status, r.body)
	}
}

func TestConnectorPushWithoutConnectors(t *testing.T) {
	e := newEnvWith(t, store.SQLite, httpapi.Config{}, withoutConnectors)
	wantError(t, "push", e.do("POST", "/api/v1/connectors/push/abc", strings.NewReader(`{"incidentId":"x"}`), nil), http.StatusServiceUnavailable, "not set up")
}

// The playbook and the poll racing for the same new incident raise it once.
func TestConnectorPushRacesThePoll(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			pe := newPushEnv(t, d)
			url := pe.srv.URL + "/api/v1/connectors/push/" + pe.secret
			for i := range 4 {
				inc := pe.incident(fmt.Sprintf("Race %d", i))
				pe.clock.Advance(time.Minute)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						<-start
						status, body, err := pe.emu.PushIncident(context.Background(), nil, url, inc.Name)
						if err != nil || status != http.StatusOK {
							t.Errorf("push: %d %s %v", status, body, err)
						}
					})
				}
				wg.Go(func() {
					<-start
					if err := pe.run.RunOnce(context.Background()); err != nil {
						t.Error(err)
					}
				})
				close(start)
				wg.Wait()
				if ids := pe.alertsOf(inc.Name); len(ids) != 1 {
					t.Fatalf("%s: alerts %v, want one", inc.Name, ids)
				}
			}
		})
	}
}
