package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

const (
	connTenant = "11111111-1111-1111-1111-111111111111"
	connClient = "22222222-2222-2222-2222-222222222222"
	connSecret = "s3cret~value-of-the-app"
	connSub    = "33333333-3333-3333-3333-333333333333"
	connRG     = "soc-rg"
	connWS     = "soc-ws"
)

// connEmulator starts the Azure emulator with the tenant, an app holding
// no roles yet, and a Sentinel workspace, and makes the harness's
// connectors talk to it.
func connEmulator(t *testing.T) (*azureemu.Emulator, harnessOption) {
	t.Helper()
	emu := azureemu.New(azureemu.Options{})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	if err := emu.AddTenant(connTenant, "contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AddApp(connTenant, azureemu.App{ClientID: connClient, Secret: connSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: connSub, ResourceGroup: connRG, Name: connWS, TenantID: connTenant}); err != nil {
		t.Fatal(err)
	}
	opt := func(h *harness, cfg *Config) {
		box, err := seal.New([]byte("lastmile-web-test-key-32-bytes!!"))
		if err != nil {
			t.Fatal(err)
		}
		// MSAL and TLS go by the wall clock: the source does too.
		kind := microsoft.Kind(microsoft.Options{HTTP: emu.Client(), Clock: clock.Real{}, Log: slog.New(slog.DiscardHandler),
			Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
		h.connectors = connector.NewService(h.db, box, h.clock, kind)
		cfg.Connectors = h.connectors
	}
	return emu, opt
}

// connGuidedForm is the form as an admin fills it for a Sentinel
// workspace reached through the emulator.
func connGuidedForm(emu *azureemu.Emulator) url.Values {
	u := emu.URL()
	return url.Values{
		"name": {"Sentinel prod"}, "source": {"sentinel"},
		"tenantId": {connTenant}, "clientId": {connClient}, "clientSecret": {connSecret},
		"subscriptionId": {connSub}, "resourceGroup": {connRG}, "workspaceName": {connWS},
		"severities": {"High", "Medium"}, "statuses": {"New"}, "pollSeconds": {"45"}, "enabled": {"1"},
		"label": {"SIGNL4"}, "closeClassification": {"TruePositive"}, "closeClassificationReason": {"SuspiciousActivity"},
		"logMode":       {"off"},
		"authorityHost": {u + "/"}, "resourceManager": {u}, "graph": {u}, "logAnalytics": {u},
	}
}

func connPath(h *harness, rest string) string { return "/teams/" + h.team.ID + "/connectors" + rest }

func TestConnectorsRoleBoundaries(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "res@example.com", team.RoleResponder)
	h.member(h.team.ID, "man@example.com", team.RoleManager)
	other, _, err := h.teams.CreateTeam(context.Background(), "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	h.member(other.ID, "stranger@example.com", team.RoleAdmin)
	c, err := h.connectors.Create(context.Background(), h.team.ID, connector.NewConnector{Name: "Graph", Source: "graph_incidents",
		Settings: json.RawMessage(`{"tenantId":"` + connTenant + `","clientId":"` + connClient + `","clientSecret":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}

	res := h.login("res@example.com")
	for _, path := range []string{connPath(h, ""), connPath(h, "/"+c.ID), connPath(h, "/new")} {
		if p := res.get(path); p.status != http.StatusForbidden {
			t.Errorf("a responder got %s: %d, want 403", path, p.status)
		}
	}
	stranger := h.login("stranger@example.com")
	for _, path := range []string{connPath(h, ""), connPath(h, "/"+c.ID), connPath(h, "/new")} {
		if p := stranger.get(path); p.status != http.StatusNotFound {
			t.Errorf("an admin of another team got %s: %d, want 404", path, p.status)
		}
	}
	if p := stranger.post(connPath(h, "/"+c.ID+"/delete"), nil); p.status != http.StatusNotFound {
		t.Errorf("an admin of another team deleting: %d, want 404", p.status)
	}

	man := h.login("man@example.com")
	p := man.get(connPath(h, ""))
	if p.status != http.StatusOK || !strings.Contains(p.body, "Graph") || !strings.Contains(p.body, "Never read successfully yet") {
		t.Fatalf("a manager's list: %d %s", p.status, p.body)
	}
	if strings.Contains(p.body, connPath(h, "/new")) || strings.Contains(p.body, "<form") && strings.Contains(p.body, `method="post" action="/teams/`) {
		t.Error("a manager's list offers changes")
	}
	p = man.get(connPath(h, "/"+c.ID))
	if p.status != http.StatusOK || strings.Contains(p.body, `method="post" action="`+connPath(h, "/"+c.ID)) || strings.Contains(p.body, "Test connection") {
		t.Errorf("a manager's connector page offers changes (%d)", p.status)
	}
	if p := man.get(connPath(h, "/new")); p.status != http.StatusForbidden {
		t.Errorf("a manager got the add form: %d", p.status)
	}
	if p := man.get(connPath(h, "/"+c.ID+"?test=1")); p.status != http.StatusForbidden {
		t.Errorf("a manager ran the connection test: %d", p.status)
	}
	for _, action := range []string{"/disable", "/poll", "/delete", "/edit"} {
		if p := man.post(connPath(h, "/"+c.ID+action), nil); p.status != http.StatusForbidden {
			t.Errorf("a manager posting %s: %d, want 403", action, p.status)
		}
	}
	if _, err := h.connectors.Get(context.Background(), h.team.ID, c.ID); err != nil {
		t.Fatalf("the connector is gone after refused posts: %v", err)
	}
}

func TestConnectorCreatedThroughTheGuidedForm(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { connGuidedFormCase(t, d) })
	}
}

func connGuidedFormCase(t *testing.T, d store.Dialect) {
	emu, opt := connEmulator(t)
	h := newHarness(t, d, opt)
	h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
	c := h.login("boss@example.com")
	if p := c.get(connPath(h, "/new")); p.status != http.StatusOK || !strings.Contains(p.body, "Application (client) id") || !strings.Contains(p.body, `data-int-when="source:sentinel"`) {
		t.Fatalf("the guided form: %d", p.status)
	}

	p := c.post(connPath(h, ""), connGuidedForm(emu))
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location, "?test=1") {
		t.Fatalf("create: %d %q %s", p.status, p.location, p.body)
	}
	list, err := h.connectors.List(context.Background(), h.team.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("connectors = %+v, %v", list, err)
	}
	got := list[0]
	if p.location != connPath(h, "/"+got.ID+"?test=1") {
		t.Errorf("sent to %q", p.location)
	}
	if got.Name != "Sentinel prod" || got.Kind != "microsoft" || got.Source != "sentinel" || got.PollSeconds != 45 || !got.Enabled {
		t.Errorf("connector saved as %+v", got)
	}
	var st microsoft.Settings
	if err := json.Unmarshal(got.Settings, &st); err != nil {
		t.Fatal(err)
	}
	if st.TenantID != connTenant || st.ClientID != connClient || st.ClientSecret != seal.Masked || st.SubscriptionID != connSub ||
		st.ResourceGroup != connRG || st.WorkspaceName != connWS || strings.Join(st.Severities, ",") != "High,Medium" ||
		strings.Join(st.Statuses, ",") != "New" || st.CloseClassification != "TruePositive" || st.CloseClassificationReason != "SuspiciousActivity" ||
		st.Log != nil || st.Endpoints == nil || st.Endpoints.ResourceManager != emu.URL() {
		t.Errorf("settings saved as %s", got.Settings)
	}

	// The app holds no role on the workspace: it signs in, and the test
	// says in plain words which role is missing.
	page := c.get(p.location)
	if page.status != http.StatusOK {
		t.Fatalf("connector page after create: %d %s", page.status, page.body)
	}
	if strings.Contains(page.body, connSecret) || !strings.Contains(page.body, seal.Masked) {
		t.Error("the connector page must show the secret masked")
	}
	if !strings.Contains(page.body, "Connection test") || !strings.Contains(page.body, "Some checks failed") ||
		!strings.Contains(page.body, "lacks the &#39;Microsoft Sentinel Reader&#39; role") {
		t.Fatalf("the test's failures are not shown in plain words:\n%s", page.body)
	}
	if !strings.Contains(page.body, `<span class="badge ok">ok</span>`) {
		t.Error("the sign-in check should pass")
	}

	// With the role, the same test passes.
	wsScope := azureemu.Workspace{SubscriptionID: connSub, ResourceGroup: connRG, Name: connWS}.ResourceID()
	if err := emu.GrantARMRole(connTenant, connClient, wsScope, "Microsoft Sentinel Contributor"); err != nil {
		t.Fatal(err)
	}
	if page := c.get(p.location); !strings.Contains(page.body, "Everything the settings need works") {
		t.Fatalf("the test with the role granted:\n%s", page.body)
	}
}

func TestConnectorFormRefusesWrongSettingsInPlainWords(t *testing.T) {
	emu, opt := connEmulator(t)
	h := newHarness(t, "sqlite", opt)
	c := h.login(h.admin.Email)
	form := connGuidedForm(emu)
	form.Del("subscriptionId")
	p := c.post(connPath(h, ""), form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "the sentinel source needs subscriptionId") {
		t.Fatalf("missing subscription: %d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, `value="Sentinel prod"`) || strings.Contains(p.body, connSecret) {
		t.Error("the refused form must keep what was typed, except the secret")
	}
	form = connGuidedForm(emu)
	form.Set("pollSeconds", "0")
	if p := c.post(connPath(h, ""), form); p.status != http.StatusBadRequest || !strings.Contains(p.body, "poll interval must be a whole number") {
		t.Errorf("poll 0: %d", p.status)
	}
	if list, _ := h.connectors.List(context.Background(), h.team.ID); len(list) != 0 {
		t.Fatalf("refused forms created %d connectors", len(list))
	}
}

func TestConnectorEditKeepsTheSecretAndActions(t *testing.T) {
	emu, opt := connEmulator(t)
	h := newHarness(t, "sqlite", opt)
	c := h.login(h.admin.Email)
	if p := c.post(connPath(h, ""), connGuidedForm(emu)); p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, p.body)
	}
	list, _ := h.connectors.List(context.Background(), h.team.ID)
	id := list[0].ID
	edit := c.get(connPath(h, "/"+id+"/edit"))
	if edit.status != http.StatusOK || !strings.Contains(edit.body, `name="clientSecret" value="`+seal.Masked+`"`) || strings.Contains(edit.body, connSecret) {
		t.Fatalf("the edit form must show the secret masked: %d", edit.status)
	}
	form := connGuidedForm(emu)
	form.Set("name", "Sentinel renamed")
	form.Set("clientSecret", seal.Masked)
	form.Del("severities")
	form.Set("products", "Microsoft Defender for Endpoint, Azure Sentinel")
	p := c.post(connPath(h, "/"+id+"/edit"), form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	got, err := h.connectors.Get(context.Background(), h.team.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	var st microsoft.Settings
	_ = json.Unmarshal(got.Settings, &st)
	if got.Name != "Sentinel renamed" || len(st.Severities) != 0 || len(st.Products) != 2 || st.Endpoints == nil || st.Endpoints.Graph != emu.URL() {
		t.Errorf("after edit: %s %s", got.Name, got.Settings)
	}
	// The kept secret still signs in: the sign-in check passes.
	page := c.get(p.location)
	if strings.Contains(page.body, "client secret is wrong") || !strings.Contains(page.body, `<span class="badge ok">ok</span>`) {
		t.Fatalf("the stored secret was not kept:\n%s", page.body)
	}

	for _, step := range []struct {
		action string
		check  func(connector.Connector) bool
	}{
		{"disable", func(c connector.Connector) bool { return !c.Enabled }},
		{"enable", func(c connector.Connector) bool { return c.Enabled }},
		{"poll", func(c connector.Connector) bool { return true }},
	} {
		if p := c.post(connPath(h, "/"+id+"/"+step.action), nil); p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step.action, p.status, p.body)
		}
		if got, err := h.connectors.Get(context.Background(), h.team.ID, id); err != nil || !step.check(got) {
			t.Errorf("after %s: %+v %v", step.action, got, err)
		}
	}
	if p := c.post(connPath(h, "/"+id+"/delete"), nil); p.status != http.StatusSeeOther || p.location != connPath(h, "") {
		t.Fatalf("delete: %d %q", p.status, p.location)
	}
	if _, err := h.connectors.Get(context.Background(), h.team.ID, id); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("the connector survived delete: %v", err)
	}
}

func TestConnectorsPageWithoutConnectors(t *testing.T) {
	h := sqliteHarness(t, func(h *harness, cfg *Config) { cfg.Connectors = nil })
	c := h.login(h.admin.Email)
	if p := c.get(connPath(h, "")); p.status != http.StatusOK || !strings.Contains(p.body, "Connectors are not available on this server") {
		t.Fatalf("list without connectors: %d", p.status)
	}
	if p := c.get(connPath(h, "/new")); p.status != http.StatusServiceUnavailable {
		t.Errorf("the add form without connectors: %d", p.status)
	}
}

func TestConnectorHealthInPlainWords(t *testing.T) {
	now := time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	c := connector.Connector{Name: "x", Enabled: true, PollSeconds: 60, Health: connector.Health{
		LastPollAt: at(time.Minute), LastSuccessAt: at(10 * time.Minute), Watermark: at(11 * time.Minute),
		LastErrorAt: at(time.Minute), LastError: "the client secret is wrong", Read: 1, Created: 3, WriteErrors: 2, LastWriteError: "409", PendingWrites: 1}}
	v := connHealthView(c, now, "UTC")
	text := strings.Join(v.Health, "\n")
	for _, want := range []string{"Last poll 1 min ago; it polls every minute.", "every change up to Mon 30 Mar 08:49 is in",
		"Failing since 1 min ago: the client secret is wrong", "Read 1 change, opened 3 alerts", "2 write-backs failed; the last: 409",
		"1 action is waiting"} {
		if !strings.Contains(text, want) {
			t.Errorf("health lacks %q:\n%s", want, text)
		}
	}
	if v.State != "failing" || v.Error != "the client secret is wrong" {
		t.Errorf("state %q, error %q", v.State, v.Error)
	}
	c.Health.LastSuccessAt = at(0)
	if v := connHealthView(c, now, "UTC"); v.State != "working" || v.Error != "" {
		t.Errorf("after a success: %q %q", v.State, v.Error)
	}
	c.Enabled = false
	if v := connHealthView(c, now, "UTC"); v.State != "off" {
		t.Errorf("disabled: %q", v.State)
	}
}

// A team admin turns push on from the connector's page: the push URL is
// shown once, works (its secret finds the connector), and can be turned
// off; a manager sees push's state but cannot change it.
func TestConnectorPushURLShownOnceAndTurnedOff(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	h.member(h.team.ID, "man@example.com", team.RoleManager)
	c, err := h.connectors.Create(ctx, h.team.ID, connector.NewConnector{Name: "Graph", Source: "graph_incidents",
		Settings: json.RawMessage(`{"tenantId":"` + connTenant + `","clientId":"` + connClient + `","clientSecret":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	admin := h.login("admin@example.com")
	page := connPath(h, "/"+c.ID)
	if p := admin.get(page); !strings.Contains(p.body, "Turn on push") {
		t.Fatalf("the connector page offers no push: %s", p.body)
	}
	p := admin.post(page+"/push-url", nil)
	m := regexp.MustCompile(`http://lastmile\.test/api/v1/connectors/push/([a-z2-7]+)`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("turning push on: %d, no push URL shown:\n%s", p.status, p.body)
	}
	info, err := h.connectors.PushInfo(ctx, h.team.ID, c.ID)
	if err != nil || !info.Enabled || !strings.HasPrefix(m[1], info.SecretPrefix) {
		t.Fatalf("push after turning it on: %+v %v", info, err)
	}
	if p := admin.get(page); strings.Contains(p.body, m[1]) || !strings.Contains(p.body, "Make a new push URL") {
		t.Error("the push URL is shown again on a later visit, or push does not show as on")
	}
	man := h.login("man@example.com")
	if p := man.get(page); !strings.Contains(p.body, "Push from Sentinel") || strings.Contains(p.body, "/push-url") {
		t.Error("a manager does not see push's state, or is offered to change it")
	}
	if p := man.post(page+"/push-off", nil); p.status != http.StatusForbidden {
		t.Errorf("a manager turned push off: %d", p.status)
	}
	if p := admin.post(page+"/push-off", nil); p.status != http.StatusSeeOther {
		t.Fatalf("turning push off: %d", p.status)
	}
	if info, _ := h.connectors.PushInfo(ctx, h.team.ID, c.ID); info.Enabled {
		t.Error("push is still on after turning it off")
	}
}
