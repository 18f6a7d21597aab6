package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// fakeMicrosoft is the test server's connector kind "microsoft". It reads
// its settings as strictly as the real kind does and records what every
// source was built with, so a test can tell which secret a saved
// connector really holds without reading the sealed column.
type fakeMicrosoft struct {
	mu    sync.Mutex
	built []fakeMicrosoftSettings
}

type fakeMicrosoftSettings struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// fakeFailingCheck is the permission the fake source always lacks.
const fakeFailingCheck = "Microsoft Sentinel Responder"

func (f *fakeMicrosoft) kind() connector.Kind {
	return connector.Kind{Name: "microsoft", Sources: []string{"sentinel", "graph_incidents"}, Secrets: []string{"clientSecret"}, Build: f.build}
}

func (f *fakeMicrosoft) build(mode string, raw json.RawMessage) (connector.Source, error) {
	var s fakeMicrosoftSettings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if s.TenantID == "" {
		return nil, errors.New("tenantId is missing")
	}
	f.mu.Lock()
	f.built = append(f.built, s)
	f.mu.Unlock()
	return fakeSource{}, nil
}

// lastBuilt returns the settings of the latest source built.
func (f *fakeMicrosoft) lastBuilt(t *testing.T) fakeMicrosoftSettings {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.built) == 0 {
		t.Fatal("no microsoft source was built")
	}
	return f.built[len(f.built)-1]
}

// fakeSource has nothing to read; its connection test passes the token and
// fails one permission, as an app registration missing a role would.
type fakeSource struct{}

func (fakeSource) Changes(context.Context, time.Time) ([]connector.Item, error) { return nil, nil }
func (fakeSource) Enrich(context.Context, *connector.Item) error                { return nil }
func (fakeSource) Apply(context.Context, string, connector.Change) error        { return nil }
func (fakeSource) Check(context.Context) []connector.Check {
	return []connector.Check{
		{Name: "Sign-in to Microsoft Entra ID", OK: true, Detail: "got a token for the app"},
		{Name: fakeFailingCheck, OK: false, Detail: "the app lacks the 'Microsoft Sentinel Responder' role on the workspace: assign it"},
	}
}

// withoutConnectors starts the server as one whose connectors are not set up.
func withoutConnectors(e *env, _ *httpapi.Channels) { e.connectors = nil }

const fakeClientSecret = "client-secret-value-42"

func connectorsPath(teamID string, rest ...string) string {
	return "/api/v1/teams/" + teamID + "/connectors" + strings.Join(append([]string{""}, rest...), "/")
}

// sentinelSettings are complete settings of the fake kind.
func sentinelSettings() map[string]any {
	return map[string]any{"tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": fakeClientSecret}
}

// createConnector adds a sentinel connector named name to teamID as the
// holder of key and fails unless it is created.
func (e *env) createConnector(key, teamID, name string) connector.Connector {
	e.t.Helper()
	r := e.api("POST", connectorsPath(teamID), key, map[string]any{"name": name, "source": "sentinel", "settings": sentinelSettings()})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create connector %q: %d %s", name, r.status, r.body)
	}
	var c connector.Connector
	decodeInto(e.t, r, &c)
	return c
}

// getConnector reads a connector as the holder of key and fails unless it is there.
func (e *env) getConnector(key, teamID, id string) connector.Connector {
	e.t.Helper()
	r := e.api("GET", connectorsPath(teamID, id), key, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("get connector %s: %d %s", id, r.status, r.body)
	}
	var c connector.Connector
	decodeInto(e.t, r, &c)
	return c
}

func settingsOf(t *testing.T, c connector.Connector) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Settings, &m); err != nil {
		t.Fatalf("settings %s: %v", c.Settings, err)
	}
	return m
}

func TestConnectorCreate(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		_, leadKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)

		r := e.api("POST", connectorsPath(e.team.ID), leadKey, map[string]any{"name": "Sentinel", "source": "sentinel", "settings": sentinelSettings()})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), fakeClientSecret) {
			t.Fatalf("the created connector shows the secret: %s", r.body)
		}
		var c connector.Connector
		decodeInto(t, r, &c)
		if c.ID == "" || c.TeamID != e.team.ID || c.Name != "Sentinel" || c.Kind != "microsoft" || c.Source != "sentinel" ||
			c.PollSeconds != 30 || !c.Enabled || !c.CreatedAt.Equal(e.clock.Now()) {
			t.Fatalf("created %+v, want kind microsoft, 30 seconds, enabled, now", c)
		}
		if s := settingsOf(t, c); s["clientSecret"] != seal.Masked || s["tenantId"] != "contoso.onmicrosoft.com" || s["clientId"] != "11111111-2222-3333-4444-555555555555" {
			t.Fatalf("settings %v, want the secret masked and the rest as sent", s)
		}
		if c.Health.LastPollAt != nil || c.Health.Read != 0 || c.Health.PendingWrites != 0 {
			t.Fatalf("a new connector's health: %+v", c.Health)
		}

		r = e.api("POST", connectorsPath(e.team.ID), leadKey, map[string]any{"name": "Graph", "source": "graph_incidents", "enabled": false,
			"pollSeconds": 120, "settings": sentinelSettings()})
		if r.status != http.StatusCreated {
			t.Fatalf("create disabled: %d %s", r.status, r.body)
		}
		decodeInto(t, r, &c)
		if c.Enabled || c.PollSeconds != 120 || c.Source != "graph_incidents" {
			t.Fatalf("created %+v, want disabled, 120 seconds", c)
		}

		without := func(field string) map[string]any {
			s := sentinelSettings()
			delete(s, field)
			return s
		}
		withField := func(k string, v any) map[string]any {
			s := sentinelSettings()
			s[k] = v
			return s
		}
		for _, tc := range []struct {
			what   string
			body   map[string]any
			status int
			words  []string
		}{
			{"unknown source", map[string]any{"name": "X", "source": "graph_alerts", "settings": sentinelSettings()}, 400, []string{`"graph_alerts"`, "sentinel", "graph_incidents"}},
			{"no source", map[string]any{"name": "X", "settings": sentinelSettings()}, 400, []string{"sentinel, graph_incidents"}},
			{"unknown kind", map[string]any{"name": "X", "kind": "splunk", "source": "sentinel", "settings": sentinelSettings()}, 400, []string{`"splunk"`, "microsoft"}},
			{"no tenant", map[string]any{"name": "X", "source": "sentinel", "settings": without("tenantId")}, 400, []string{"tenantId is missing"}},
			{"unknown setting", map[string]any{"name": "X", "source": "sentinel", "settings": withField("colour", "red")}, 400, []string{"colour"}},
			{"no settings", map[string]any{"name": "X", "source": "sentinel"}, 400, []string{"settings"}},
			{"duplicate name", map[string]any{"name": "Sentinel", "source": "sentinel", "settings": sentinelSettings()}, 409, []string{`"Sentinel"`}},
			{"duplicate name padded", map[string]any{"name": "  Sentinel ", "source": "sentinel", "settings": sentinelSettings()}, 409, []string{`"Sentinel"`}},
			{"no name", map[string]any{"name": " ", "source": "sentinel", "settings": sentinelSettings()}, 400, []string{"name"}},
			{"poll too often", map[string]any{"name": "X", "source": "sentinel", "pollSeconds": -5, "settings": sentinelSettings()}, 400, []string{"pollSeconds", "1 to 3600"}},
			{"poll too seldom", map[string]any{"name": "X", "source": "sentinel", "pollSeconds": 3601, "settings": sentinelSettings()}, 400, []string{"pollSeconds", "3600"}},
			{"unknown field", map[string]any{"name": "X", "source": "sentinel", "settings": sentinelSettings(), "interval": 30}, 400, []string{"not valid JSON"}},
		} {
			wantError(t, tc.what, e.api("POST", connectorsPath(e.team.ID), leadKey, tc.body), tc.status, tc.words...)
		}

		r = e.api("GET", connectorsPath(e.team.ID), leadKey, nil)
		var list struct{ Items []connector.Connector }
		decodeInto(t, r, &list)
		if r.status != http.StatusOK || len(list.Items) != 2 || list.Items[0].Name != "Graph" || list.Items[1].Name != "Sentinel" {
			t.Fatalf("list after the refused creates: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), fakeClientSecret) {
			t.Fatalf("the list shows the secret: %s", r.body)
		}
	})
}

func TestConnectorRoles(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, leadKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)
		_, managerKey := e.user("manager@example.com", e.team.ID, team.RoleManager)
		_, responderKey := e.user("responder@example.com", e.team.ID, team.RoleResponder)
		other, _, err := e.teams.CreateTeam(ctx, "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		_, outsiderKey := e.user("outsider@example.com", other.ID, team.RoleAdmin)
		c := e.createConnector(leadKey, e.team.ID, "Sentinel")
		theirs := e.createConnector(outsiderKey, other.ID, "Theirs")

		type call struct {
			method, path string
			body         any
		}
		// every names the seven routes on teamID, acting on connector id.
		every := func(teamID, id string) []call {
			return []call{
				{"GET", connectorsPath(teamID), nil},
				{"POST", connectorsPath(teamID), map[string]any{"name": "New", "source": "sentinel", "settings": sentinelSettings()}},
				{"GET", connectorsPath(teamID, id), nil},
				{"PATCH", connectorsPath(teamID, id), map[string]any{"enabled": false}},
				{"DELETE", connectorsPath(teamID, id), nil},
				{"POST", connectorsPath(teamID, id, "test"), nil},
				{"POST", connectorsPath(teamID, id, "poll"), nil},
			}
		}
		writes := func(teamID, id string) []call {
			var out []call
			for _, cl := range every(teamID, id) {
				if cl.method != "GET" {
					out = append(out, cl)
				}
			}
			return out
		}

		// Responders manage nothing and see nothing of connectors.
		for _, cl := range every(e.team.ID, c.ID) {
			wantError(t, cl.method+" "+cl.path+" as responder", e.api(cl.method, cl.path, responderKey, cl.body), http.StatusForbidden, "role")
		}
		// Managers see them, admins manage them.
		for _, cl := range writes(e.team.ID, c.ID) {
			wantError(t, cl.method+" "+cl.path+" as manager", e.api(cl.method, cl.path, managerKey, cl.body), http.StatusForbidden, "admin")
		}
		r := e.api("GET", connectorsPath(e.team.ID), managerKey, nil)
		var list struct{ Items []connector.Connector }
		decodeInto(t, r, &list)
		if r.status != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != c.ID {
			t.Fatalf("list as manager: %d %s", r.status, r.body)
		}
		if got := e.getConnector(managerKey, e.team.ID, c.ID); got.Name != "Sentinel" || settingsOf(t, got)["clientSecret"] != seal.Masked {
			t.Fatalf("get as manager: %+v", got)
		}

		// Another team's admin finds neither the team nor its connector,
		// not even through their own team's routes.
		for _, cl := range every(e.team.ID, c.ID) {
			wantError(t, cl.method+" "+cl.path+" as outsider", e.api(cl.method, cl.path, outsiderKey, cl.body), http.StatusNotFound)
		}
		for _, cl := range every(other.ID, c.ID) {
			if cl.path == connectorsPath(other.ID) {
				continue // their own team's list and create
			}
			wantError(t, cl.method+" "+cl.path+" (our connector in their team)", e.api(cl.method, cl.path, outsiderKey, cl.body), http.StatusNotFound, c.ID)
		}
		// Nor does our admin reach theirs through our team.
		wantError(t, "their connector in our team", e.api("GET", connectorsPath(e.team.ID, theirs.ID), leadKey, nil), http.StatusNotFound, theirs.ID)
		r = e.api("GET", connectorsPath(other.ID), outsiderKey, nil)
		decodeInto(t, r, &list)
		if len(list.Items) != 1 || list.Items[0].ID != theirs.ID {
			t.Fatalf("their list: %s", r.body)
		}

		// After all that, ours is unchanged.
		if got := e.getConnector(leadKey, e.team.ID, c.ID); !got.Enabled || !got.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("the refused calls changed the connector: %+v", got)
		}
		// Instance administrators manage every team's connectors.
		if got := e.getConnector(e.adminKey, other.ID, theirs.ID); got.Name != "Theirs" {
			t.Fatalf("get as instance admin: %+v", got)
		}
		if r := e.api("POST", connectorsPath(other.ID, theirs.ID, "poll"), e.adminKey, nil); r.status != http.StatusAccepted {
			t.Fatalf("poll as instance admin: %d %s", r.status, r.body)
		}
		wantError(t, "create in a team that does not exist", e.api("POST", connectorsPath("no-such-team"), e.adminKey,
			map[string]any{"name": "X", "source": "sentinel", "settings": sentinelSettings()}), http.StatusNotFound)
	})
}

func TestConnectorUpdateAndDelete(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, leadKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)
		c := e.createConnector(leadKey, e.team.ID, "Sentinel")
		e.createConnector(leadKey, e.team.ID, "Graph")
		patch := func(body any) response {
			t.Helper()
			return e.api("PATCH", connectorsPath(e.team.ID, c.ID), leadKey, body)
		}
		stored := func() string {
			t.Helper()
			var sealed string
			if err := e.db.QueryRow(ctx, `SELECT settings FROM connectors WHERE id = ?`, c.ID).Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			return sealed
		}

		// Saving back what GET shows, with the tenant changed, keeps the secret.
		shown := settingsOf(t, e.getConnector(leadKey, e.team.ID, c.ID))
		shown["tenantId"] = "fabrikam.onmicrosoft.com"
		e.clock.Advance(time.Minute)
		r := patch(map[string]any{"settings": shown})
		if r.status != http.StatusOK {
			t.Fatalf("patch with the masked secret: %d %s", r.status, r.body)
		}
		var got connector.Connector
		decodeInto(t, r, &got)
		if s := settingsOf(t, got); s["tenantId"] != "fabrikam.onmicrosoft.com" || s["clientSecret"] != seal.Masked || !got.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("after the patch: %+v", got)
		}
		if b := e.msft.lastBuilt(t); b.ClientSecret != fakeClientSecret || b.TenantID != "fabrikam.onmicrosoft.com" {
			t.Fatalf("the patched settings were checked with %+v, want the stored secret", b)
		}
		if s := stored(); strings.Contains(s, fakeClientSecret) || strings.Contains(s, seal.Masked) || strings.Contains(s, "fabrikam") {
			t.Fatalf("the settings column holds them in the clear: %q", s)
		}
		// The connection test uses the kept secret too.
		if r := e.api("POST", connectorsPath(e.team.ID, c.ID, "test"), leadKey, nil); r.status != http.StatusOK {
			t.Fatalf("test after the patch: %d %s", r.status, r.body)
		}
		if b := e.msft.lastBuilt(t); b.ClientSecret != fakeClientSecret {
			t.Fatalf("tested with secret %q, want the stored one", b.ClientSecret)
		}

		// A new secret replaces it.
		shown["clientSecret"] = "rotated-secret-value"
		if r := patch(map[string]any{"settings": shown}); r.status != http.StatusOK || strings.Contains(string(r.body), "rotated-secret-value") {
			t.Fatalf("patch with a new secret: %d %s", r.status, r.body)
		}
		if b := e.msft.lastBuilt(t); b.ClientSecret != "rotated-secret-value" {
			t.Fatalf("checked with secret %q, want the new one", b.ClientSecret)
		}

		// Turned off, renamed, slower: the settings stay.
		r = patch(map[string]any{"enabled": false})
		decodeInto(t, r, &got)
		if r.status != http.StatusOK || got.Enabled || settingsOf(t, got)["tenantId"] != "fabrikam.onmicrosoft.com" {
			t.Fatalf("patch enabled false: %d %s", r.status, r.body)
		}
		if got := e.getConnector(leadKey, e.team.ID, c.ID); got.Enabled {
			t.Fatal("GET shows the connector still enabled")
		}
		r = patch(map[string]any{"name": "Sentinel EU", "pollSeconds": 300})
		decodeInto(t, r, &got)
		if r.status != http.StatusOK || got.Name != "Sentinel EU" || got.PollSeconds != 300 || got.Enabled {
			t.Fatalf("patch name and poll: %d %s", r.status, r.body)
		}

		for _, tc := range []struct {
			what   string
			body   any
			status int
			words  []string
		}{
			{"poll too rarely", map[string]any{"pollSeconds": 7200}, 400, []string{"pollSeconds"}},
			{"no tenant", map[string]any{"settings": map[string]any{"clientId": "x", "clientSecret": seal.Masked}}, 400, []string{"tenantId is missing"}},
			{"unknown setting", map[string]any{"settings": map[string]any{"tenantId": "t", "colour": "red"}}, 400, []string{"colour"}},
			{"settings not an object", map[string]any{"settings": []string{"a"}}, 400, []string{"JSON object"}},
			{"name taken", map[string]any{"name": "Graph"}, 409, []string{`"Graph"`}},
			{"empty name", map[string]any{"name": ""}, 400, []string{"name"}},
			{"source is fixed", map[string]any{"source": "graph_incidents"}, 400, []string{"not valid JSON"}},
		} {
			wantError(t, tc.what, patch(tc.body), tc.status, tc.words...)
		}
		if got := e.getConnector(leadKey, e.team.ID, c.ID); got.Name != "Sentinel EU" || got.PollSeconds != 300 || got.Source != "sentinel" {
			t.Fatalf("refused patches changed the connector: %+v", got)
		}

		// Deleted: gone from GET and the list, and a second delete is 404.
		if r := e.api("DELETE", connectorsPath(e.team.ID, c.ID), leadKey, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, "get after delete", e.api("GET", connectorsPath(e.team.ID, c.ID), leadKey, nil), http.StatusNotFound, c.ID)
		wantError(t, "delete again", e.api("DELETE", connectorsPath(e.team.ID, c.ID), leadKey, nil), http.StatusNotFound, c.ID)
		wantError(t, "patch after delete", patch(map[string]any{"enabled": true}), http.StatusNotFound, c.ID)
		r = e.api("GET", connectorsPath(e.team.ID), leadKey, nil)
		var list struct{ Items []connector.Connector }
		decodeInto(t, r, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "Graph" {
			t.Fatalf("list after delete: %s", r.body)
		}
	})
}

func TestConnectorTestAndPoll(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, leadKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)
		c := e.createConnector(leadKey, e.team.ID, "Sentinel")

		r := e.api("POST", connectorsPath(e.team.ID, c.ID, "test"), leadKey, nil)
		if r.status != http.StatusOK {
			t.Fatalf("test: %d %s", r.status, r.body)
		}
		var res struct {
			OK     *bool             `json:"ok"`
			Checks []connector.Check `json:"checks"`
		}
		decodeInto(t, r, &res)
		if res.OK == nil || *res.OK || len(res.Checks) != 2 || !res.Checks[0].OK || res.Checks[1].OK {
			t.Fatalf("test answered %s, want ok false with a passing and a failing check", r.body)
		}
		if f := res.Checks[1]; f.Name != fakeFailingCheck || !strings.Contains(f.Detail, "lacks the 'Microsoft Sentinel Responder' role") {
			t.Fatalf("the failing check %+v does not name the permission", f)
		}
		if strings.Contains(string(r.body), fakeClientSecret) {
			t.Fatalf("the test answer shows the secret: %s", r.body)
		}

		// The runner just polled it: its next poll is a while off.
		nextPoll := func() int64 {
			t.Helper()
			var next int64
			if err := e.db.QueryRow(ctx, `SELECT next_poll_at FROM connectors WHERE id = ?`, c.ID).Scan(&next); err != nil {
				t.Fatal(err)
			}
			return next
		}
		if _, err := e.db.Exec(ctx, `UPDATE connectors SET next_poll_at = ? WHERE id = ?`, store.Micros(e.clock.Now().Add(time.Hour)), c.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Minute)
		r = e.api("POST", connectorsPath(e.team.ID, c.ID, "poll"), leadKey, nil)
		if r.status != http.StatusAccepted || r.json(t)["pollQueued"] != true {
			t.Fatalf("poll: %d %s", r.status, r.body)
		}
		if got, want := nextPoll(), store.Micros(e.clock.Now()); got != want {
			t.Fatalf("next poll at %v, want now (%v)", store.FromMicros(got), e.clock.Now())
		}
		wantError(t, "poll an unknown connector", e.api("POST", connectorsPath(e.team.ID, "nope", "poll"), leadKey, nil), http.StatusNotFound, "nope")
		wantError(t, "test an unknown connector", e.api("POST", connectorsPath(e.team.ID, "nope", "test"), leadKey, nil), http.StatusNotFound, "nope")
	})
}

func TestConnectorsNotSetUp(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := newEnvWith(t, d, httpapi.Config{}, withoutConnectors)
			_, leadKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)
			for _, cl := range []struct{ method, path string }{
				{"GET", connectorsPath(e.team.ID)}, {"POST", connectorsPath(e.team.ID)}, {"GET", connectorsPath(e.team.ID, "c1")},
				{"PATCH", connectorsPath(e.team.ID, "c1")}, {"DELETE", connectorsPath(e.team.ID, "c1")},
				{"POST", connectorsPath(e.team.ID, "c1", "test")}, {"POST", connectorsPath(e.team.ID, "c1", "poll")},
			} {
				r := e.api(cl.method, cl.path, leadKey, map[string]any{"name": "X", "source": "sentinel", "settings": sentinelSettings()})
				wantError(t, cl.method+" "+cl.path, r, http.StatusServiceUnavailable, "connectors are not set up")
			}
		})
	}
}
