package sentinel

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
)

// emuWorkspaceID is the test workspace's ARM id in the emulator.
const emuWorkspaceID = "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + testWS

type emuEnv struct {
	emu   *azureemu.Emulator
	clock *clock.Fake
	ws    azureemu.Workspace
	cfg   Config
}

// newEmu starts the emulator with one tenant, one app holding the given
// roles, and one workspace.
func newEmu(t *testing.T, armRoles []string, graphRoles []string) *emuEnv {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	emu := azureemu.New(azureemu.Options{Clock: clk})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	if err := emu.AddTenant(testTenant, "contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	app := azureemu.App{ClientID: testClient, Secret: testSecret, GraphRoles: graphRoles, IngestionRoles: []string{"dcr-1"}}
	if len(armRoles) > 0 {
		app.ARMRoles = map[string][]string{emuWorkspaceID: armRoles}
	}
	if _, err := emu.AddApp(testTenant, app); err != nil {
		t.Fatal(err)
	}
	ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: testSub, ResourceGroup: testRG, Name: testWS, WorkspaceID: testWSID, TenantID: testTenant})
	if err != nil {
		t.Fatal(err)
	}
	u := emu.URL()
	cfg := Config{
		TenantID: testTenant, SubscriptionID: testSub, ClientID: testClient, ClientSecret: testSecret,
		ResourceGroup: testRG, WorkspaceName: testWS, WorkspaceID: testWSID,
		Endpoints: Endpoints{AuthorityHost: u, ResourceManager: u, Graph: u, LogAnalytics: u},
		HTTP:      emu.Client(), Clock: clk,
	}
	return &emuEnv{emu: emu, clock: clk, ws: ws, cfg: cfg}
}

func (e *emuEnv) client(t *testing.T) (*Client, *recSleeper) {
	t.Helper()
	s := &recSleeper{}
	cfg := e.cfg
	cfg.Sleep = s.sleep
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func (e *emuEnv) tokenRequests() int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.API == azureemu.APIEntra && strings.Contains(r.Path, "/token") {
			n++
		}
	}
	return n
}

func TestEmulatorSentinelReadFlow(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Responder"}, nil)
	old := env.clock.Now().Add(-48 * time.Hour)
	if _, err := env.emu.AddIncident(testWS, azureemu.Incident{Title: "old", Severity: "High", Created: old, LastModified: old}); err != nil {
		t.Fatal(err)
	}
	for i := range 60 { // more than one page of 50
		sev := "High"
		if i%2 == 1 {
			sev = "Low"
		}
		_, err := env.emu.AddIncident(testWS, azureemu.Incident{
			Title: fmt.Sprintf("incident %d", i), Severity: sev,
			Alerts:   []azureemu.Alert{{DisplayName: "Brute force", ExtendedProperties: map[string]string{azureemu.AlertPropQuery: "SigninLogs | take 5"}}},
			Entities: []azureemu.Entity{{Kind: "Account", Properties: map[string]any{"accountName": "alice"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c, _ := env.client(t)
	ctx := context.Background()
	got, err := c.ListIncidents(ctx, IncidentQuery{ModifiedSince: env.clock.Now().Add(-time.Hour), Statuses: []string{"New"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 {
		t.Fatalf("incidents = %d, want the 60 recent ones across pages", len(got))
	}
	high, err := c.ListIncidents(ctx, IncidentQuery{Severities: []string{"High"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(high) != 31 {
		t.Errorf("high incidents = %d, want 31", len(high))
	}
	inc := got[0]
	if inc.Properties.IncidentNumber == 0 || inc.Etag == "" || inc.Properties.CreatedTimeUTC.IsZero() || inc.Properties.IncidentURL == "" {
		t.Errorf("incident = %+v", inc)
	}
	one, err := c.GetIncident(ctx, inc.Name)
	if err != nil || one.Properties.Title != inc.Properties.Title {
		t.Fatalf("get = %+v, %v", one, err)
	}
	alerts, err := c.IncidentAlerts(ctx, inc.Name)
	if err != nil || len(alerts) != 1 || alerts[0].Properties.AlertDisplayName != "Brute force" ||
		alerts[0].Properties.AdditionalData["Query"] != "SigninLogs | take 5" {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	ents, err := c.IncidentEntities(ctx, inc.Name)
	if err != nil || len(ents.Entities) == 0 || !slices.ContainsFunc(ents.Kinds, func(k EntityKindCount) bool { return k.Kind == "Account" && k.Count >= 1 }) {
		t.Fatalf("entities = %+v, %v", ents, err)
	}
	ws, err := c.Workspace(ctx)
	if err != nil || ws.CustomerID != testWSID {
		t.Fatalf("workspace = %+v, %v", ws, err)
	}
	if _, err := c.GetIncident(ctx, "00000000-0000-0000-0000-000000000000"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing incident: %v", err)
	}
}

func TestEmulatorSentinelWriteFlow(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Responder"}, nil)
	inc, err := env.emu.AddIncident(testWS, azureemu.Incident{Title: "Suspicious sign-in", Severity: "High",
		Labels: []azureemu.Label{{Name: "auto-tag", Type: "AutoAssigned"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	ctx := context.Background()

	// Acknowledge: status and owner, as Responder may.
	got, err := c.UpdateIncident(ctx, inc.Name, func(i *Incident) (bool, error) {
		i.Properties.Status = "Active"
		i.Properties.Owner = &Owner{Email: "ann@contoso.com", AssignedTo: "Ann", UserPrincipalName: "ann@contoso.com"}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Properties.Status != "Active" || got.Etag == inc.ETag {
		t.Errorf("after ack: %+v", got.Properties)
	}
	stored, _ := env.emu.Incident(inc.Name)
	if stored.Status != "Active" || stored.Owner.Email != "ann@contoso.com" || len(stored.Labels) != 1 {
		t.Errorf("stored = %+v", stored)
	}

	// A label needs Contributor: refused in plain words, then granted.
	addLabel := func(i *Incident) (bool, error) {
		if i.HasLabel("SIGNL4") {
			return false, nil
		}
		i.Properties.Labels = append(i.Properties.Labels, Label{LabelName: "SIGNL4"})
		return true, nil
	}
	_, err = c.UpdateIncident(ctx, inc.Name, addLabel)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Permission != RoleSentinelContributor {
		t.Fatalf("label without Contributor: %v", err)
	}
	if !strings.Contains(err.Error(), "the app lacks the 'Microsoft Sentinel Contributor' role on workspace soc-ws") {
		t.Errorf("Error() = %q", err)
	}
	if err := env.emu.GrantARMRole(testTenant, testClient, emuWorkspaceID, "Microsoft Sentinel Contributor"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateIncident(ctx, inc.Name, addLabel); err != nil {
		t.Fatal(err)
	}
	stored, _ = env.emu.Incident(inc.Name)
	if !slices.ContainsFunc(stored.Labels, func(l azureemu.Label) bool { return l.Name == "SIGNL4" && l.Type == "User" }) ||
		!slices.ContainsFunc(stored.Labels, func(l azureemu.Label) bool { return l.Name == "auto-tag" }) {
		t.Errorf("labels = %+v", stored.Labels)
	}

	// An analyst saves in between: 409, re-read, retried.
	calls := 0
	_, err = c.UpdateIncident(ctx, inc.Name, func(i *Incident) (bool, error) {
		calls++
		if calls == 1 {
			if _, err := env.emu.UpdateIncident(inc.Name, func(x *azureemu.Incident) { x.Description = "edited by analyst" }); err != nil {
				return false, err
			}
		}
		i.Properties.Status = "Closed"
		i.Properties.Classification = "TruePositive"
		i.Properties.ClassificationReason = "SuspiciousActivity"
		i.Properties.ClassificationComment = "Closed in lastmile by Ann"
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = env.emu.Incident(inc.Name)
	if calls != 2 || stored.Status != "Closed" || stored.Description != "edited by analyst" || stored.ClassificationComment != "Closed in lastmile by Ann" {
		t.Errorf("calls %d, stored %+v", calls, stored)
	}

	if err := c.AddIncidentComment(ctx, inc.Name, "Acknowledged by Ann in lastmile"); err != nil {
		t.Fatal(err)
	}
	if cs := env.emu.Comments(inc.Name); len(cs) != 1 || cs[0].Message != "Acknowledged by Ann in lastmile" {
		t.Errorf("comments = %+v", cs)
	}
}

func TestEmulatorSentinelReaderCannotWrite(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Reader"}, nil)
	inc, err := env.emu.AddIncident(testWS, azureemu.Incident{Title: "x", Severity: "Low"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	err = c.AddIncidentComment(context.Background(), inc.Name, "hi")
	want := "Sentinel refused: the app lacks the 'Microsoft Sentinel Responder' role on workspace soc-ws (403 AuthorizationFailed)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestEmulatorNoRoleAndMissingWorkspace(t *testing.T) {
	env := newEmu(t, nil, nil)
	c, _ := env.client(t)
	_, err := c.ListIncidents(context.Background(), IncidentQuery{})
	if err == nil || !strings.Contains(err.Error(), "the app lacks the 'Microsoft Sentinel Reader' role on workspace soc-ws (403 AuthorizationFailed)") {
		t.Errorf("no role: %v", err)
	}
	if err := env.emu.GrantARMRole(testTenant, testClient, "/subscriptions/"+testSub, "Reader"); err != nil {
		t.Fatal(err)
	}
	cfg := env.cfg
	cfg.WorkspaceName = "other-ws"
	c2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Workspace(context.Background())
	if err == nil || err.Error() != "workspace other-ws not found in resource group soc-rg (404 ResourceNotFound)" {
		t.Errorf("missing workspace: %v", err)
	}
}

func TestEmulatorExpiredTokensReplaced(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Responder"}, []string{"SecurityIncident.ReadWrite.All"})
	c, s := env.client(t)
	ctx := context.Background()
	if _, err := c.ListIncidents(ctx, IncidentQuery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListGraphIncidents(ctx, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	before := env.tokenRequests()
	env.emu.ExpireTokens()
	if _, err := c.ListIncidents(ctx, IncidentQuery{}); err != nil {
		t.Fatalf("ARM after expiry: %v", err)
	}
	if _, err := c.ListGraphIncidents(ctx, time.Time{}, nil); err != nil {
		t.Fatalf("Graph after expiry: %v", err)
	}
	if n := env.tokenRequests() - before; n != 2 {
		t.Errorf("new tokens = %d, want 2 (one per audience)", n)
	}
	// The new tokens are cached.
	if _, err := c.ListIncidents(ctx, IncidentQuery{}); err != nil {
		t.Fatal(err)
	}
	if n := env.tokenRequests() - before; n != 2 {
		t.Errorf("new tokens = %d after another call, want still 2", n)
	}
	if len(s.all()) != 0 {
		t.Errorf("waits = %v", s.all())
	}
}

func TestEmulatorFaultsRetried(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Responder"}, nil)
	c, s := env.client(t)
	env.emu.Fail(azureemu.FailRule{PathContains: "/incidents", Status: 429, RetryAfter: "3"})
	env.emu.Fail(azureemu.FailRule{PathContains: "/incidents", Status: 503, Times: 1})
	if _, err := c.ListIncidents(context.Background(), IncidentQuery{}); err != nil {
		t.Fatal(err)
	}
	w := s.all()
	if len(w) != 2 || w[0] != 3*time.Second {
		t.Errorf("waits = %v, want 3s then a backoff", w)
	}
	env.emu.Fail(azureemu.FailRule{PathContains: "/incidents", Status: 500, Times: 10})
	_, err := c.ListIncidents(context.Background(), IncidentQuery{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || !strings.Contains(err.Error(), "after 4 tries") {
		t.Errorf("err = %v", err)
	}
}

func TestEmulatorSignInErrors(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Reader"}, nil)
	tests := []struct {
		name   string
		change func(*Config)
		code   int
		want   string
	}{
		{"wrong secret", func(c *Config) { c.ClientSecret = "wrong" }, 7000215, "the client secret is wrong (use the secret's value, not its id)"},
		{"unknown app", func(c *Config) { c.ClientID = "99999999-9999-9999-9999-999999999999" }, 700016, "no app with client id 99999999-9999-9999-9999-999999999999 in tenant"},
		{"unknown tenant", func(c *Config) { c.TenantID = "88888888-8888-8888-8888-888888888888" }, 90002, "tenant 88888888-8888-8888-8888-888888888888 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := env.cfg
			tt.change(&cfg)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListIncidents(context.Background(), IncidentQuery{})
			var te *TokenError
			if !errors.As(err, &te) || te.Code != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want AADSTS%d and %q", err, tt.code, tt.want)
			}
		})
	}
}

func TestEmulatorCertificateSignIn(t *testing.T) {
	env := newEmu(t, nil, nil)
	certPEM := testCertPEM(t)
	certOnly := certPEM[:strings.Index(certPEM, "-----BEGIN PRIVATE KEY-----")]
	const certClient = "66666666-6666-6666-6666-666666666666"
	if _, err := env.emu.AddApp(testTenant, azureemu.App{ClientID: certClient, CertificatePEM: []byte(certOnly),
		ARMRoles: map[string][]string{emuWorkspaceID: {"Microsoft Sentinel Reader"}}}); err != nil {
		t.Fatal(err)
	}
	cfg := env.cfg
	cfg.ClientID, cfg.ClientSecret, cfg.CertificatePEM = certClient, "", certPEM
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListIncidents(context.Background(), IncidentQuery{}); err != nil {
		t.Fatal(err)
	}
	// A certificate the app does not have is refused in plain words.
	cfg.CertificatePEM = testCertPEM(t)
	c, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListIncidents(context.Background(), IncidentQuery{})
	var te *TokenError
	if !errors.As(err, &te) || te.Code == 0 {
		t.Errorf("unknown certificate: %v", err)
	}
}

func TestEmulatorGraphIncidentsAndAlerts(t *testing.T) {
	env := newEmu(t, nil, []string{"SecurityIncident.ReadWrite.All", "SecurityAlert.ReadWrite.All"})
	gi, err := env.emu.AddGraphIncident(testTenant, azureemu.GraphIncident{DisplayName: "Ransomware", Severity: "high",
		Alerts: []azureemu.GraphAlert{{Title: "Encrypted files", ServiceSource: "microsoftSentinel", DetectionSource: "scheduledAlerts", ProductName: "Microsoft Sentinel",
			Evidence: []map[string]any{{"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "host1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	ctx := context.Background()
	incs, err := c.ListGraphIncidents(ctx, env.clock.Now().Add(-time.Hour), []string{"active"})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].ID != gi.ID || len(incs[0].Alerts) != 1 {
		t.Fatalf("incidents = %+v", incs)
	}
	a := incs[0].Alerts[0]
	if a.ServiceSource != "microsoftSentinel" || a.DetectionSource != "scheduledAlerts" || len(a.Evidence) != 1 {
		t.Errorf("alert = %+v (the Prefer header should reveal Sentinel's enum values)", a)
	}
	st, who, cls := "inProgress", "ann@contoso.com", "truePositive"
	up, err := c.UpdateGraphIncident(ctx, gi.ID, GraphIncidentPatch{Status: &st, AssignedTo: &who, CustomTags: &[]string{"SIGNL4"}})
	if err != nil || up.Status != "inProgress" || up.AssignedTo != who {
		t.Fatalf("update = %+v, %v", up, err)
	}
	if err := c.CommentGraphIncident(ctx, gi.ID, "Acknowledged by Ann"); err != nil {
		t.Fatal(err)
	}
	stored, _ := env.emu.GraphIncident(gi.ID)
	if !slices.Contains(stored.CustomTags, "SIGNL4") || len(stored.Comments) != 1 {
		t.Errorf("stored incident = %+v", stored)
	}

	alerts, err := c.ListAlertsV2(ctx, env.clock.Now().Add(-time.Hour), []string{"new"})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	ua, err := c.UpdateAlertV2(ctx, alerts[0].ID, AlertV2Patch{Status: &st, Classification: &cls})
	if err != nil || ua.Status != "inProgress" || ua.Classification != "truePositive" {
		t.Fatalf("update alert = %+v, %v", ua, err)
	}
	if err := c.CommentAlertV2(ctx, alerts[0].ID, "On it"); err != nil {
		t.Fatal(err)
	}
	if sa, _ := env.emu.GraphAlert(alerts[0].ID); len(sa.Comments) != 1 || sa.Status != "inProgress" {
		t.Errorf("stored alert = %+v", sa)
	}
}

func TestEmulatorGraphPermissionMissing(t *testing.T) {
	env := newEmu(t, nil, []string{"SecurityIncident.Read.All"})
	gi, err := env.emu.AddGraphIncident(testTenant, azureemu.GraphIncident{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	st := "resolved"
	_, err = c.UpdateGraphIncident(context.Background(), gi.ID, GraphIncidentPatch{Status: &st})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Permission != PermIncidentReadWrite || !strings.HasPrefix(err.Error(), "Graph refused: missing application permission SecurityIncident.ReadWrite.All (403") {
		t.Errorf("err = %v", err)
	}
	_, err = c.ListAlertsV2(context.Background(), time.Time{}, nil)
	if !errors.As(err, &ae) || ae.Permission != PermAlertRead {
		t.Errorf("alerts without permission: %v", err)
	}
}

func TestEmulatorLegacyAlerts(t *testing.T) {
	env := newEmu(t, nil, []string{"SecurityEvents.ReadWrite.All"})
	la, err := env.emu.AddLegacyAlert(testTenant, azureemu.LegacyAlert{Title: "Impossible travel", Severity: "high", Provider: "IPC",
		Extra: map[string]any{"userStates": []map[string]any{{"userPrincipalName": "bob@contoso.com"}}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	ctx := context.Background()
	alerts, err := c.ListLegacyAlerts(ctx, env.clock.Now().Add(-time.Hour))
	if err != nil || len(alerts) != 1 || alerts[0].VendorInformation.Provider != "IPC" || len(alerts[0].UserStates) != 1 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	st, fb := "resolved", "truePositive"
	closed := env.clock.Now()
	if err := c.UpdateLegacyAlert(ctx, la.ID, LegacyAlertPatch{Status: &st, Feedback: &fb, ClosedDateTime: &closed}, alerts[0].VendorInformation); err != nil {
		t.Fatal(err)
	}
	stored, _ := env.emu.LegacyAlert(la.ID)
	if stored.Status != "resolved" || stored.Feedback != "truePositive" || stored.Closed.IsZero() {
		t.Errorf("stored = %+v", stored)
	}
}

func TestEmulatorQueryIngestAndDataCollector(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Reader"}, nil)
	if err := env.emu.AddDCR(azureemu.DCR{ImmutableID: "dcr-1", Workspace: testWS, Streams: map[string]string{"Custom-LastmileAudit": "LastmileAudit_CL"}}); err != nil {
		t.Fatal(err)
	}
	c, _ := env.client(t)
	ctx := context.Background()

	tab, err := c.Query(ctx, testWSID, "print x=1", "PT5M")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 || len(tab.Columns) != 1 || tab.Columns[0].Name != "x" || fmt.Sprint(tab.Rows[0][0]) != "1" {
		t.Errorf("print table = %+v", tab)
	}
	if err := env.emu.SetQueryResult(testWS, "SigninLogs | take 5", azureemu.Table{
		Columns: []azureemu.Column{{Name: "UserPrincipalName", Type: "string"}, {Name: "Count", Type: "long"}},
		Rows:    [][]any{{"bob@contoso.com", 3}},
	}); err != nil {
		t.Fatal(err)
	}
	tab, err = c.Query(ctx, testWSID, "SigninLogs | take 5", "")
	if err != nil || len(tab.Rows) != 1 || tab.Rows[0][0] != "bob@contoso.com" || tab.Columns[1].Type != "long" {
		t.Fatalf("custom query = %+v, %v", tab, err)
	}
	// A workspace without data answers 204: an empty table.
	tab, err = c.Query(ctx, testWSID, "SecurityEvent | take 1", "")
	if err != nil || len(tab.Rows) != 0 {
		t.Errorf("empty workspace: %+v, %v", tab, err)
	}

	var recs []map[string]any
	for i := range 1500 {
		recs = append(recs, map[string]any{"TimeGenerated": env.clock.Now().Format(time.RFC3339), "AlertId": fmt.Sprintf("a-%d", i), "Pad": strings.Repeat("z", 800)})
	}
	if err := c.Upload(ctx, env.emu.URL(), "dcr-1", "Custom-LastmileAudit", recs); err != nil {
		t.Fatal(err)
	}
	rows, err := env.emu.Rows(testWS, "LastmileAudit_CL")
	if err != nil || len(rows) != len(recs) {
		t.Errorf("ingested rows = %d, %v; want %d", len(rows), err, len(recs))
	}
	tab, err = c.Query(ctx, testWSID, "LastmileAudit_CL | take 3", "P1D")
	if err != nil || len(tab.Rows) != 3 {
		t.Errorf("read back: %d rows, %v", len(tab.Rows), err)
	}
	_, err = c.Query(ctx, testWSID, "LastmileAudit_CL | summarize by ((", "")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "BadArgumentError" {
		t.Errorf("bad query: %v", err)
	}
	err = c.Upload(ctx, env.emu.URL(), "dcr-unknown", "Custom-LastmileAudit", recs[:1])
	if err == nil {
		t.Error("upload to an unknown DCR succeeded")
	}

	key := env.ws.SharedKey
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		t.Fatal(err)
	}
	dc := []map[string]any{{"AlertId": "a1", "Status": "acknowledged", "Count": 2}}
	if err := c.PostDataCollector(ctx, env.emu.URL(), testWSID, key, "SIGNL4", dc, ""); err != nil {
		t.Fatal(err)
	}
	rows, err = env.emu.Rows(testWS, "SIGNL4_CL")
	if err != nil || len(rows) != 1 || rows[0]["AlertId_s"] != "a1" {
		t.Errorf("SIGNL4_CL rows = %+v, %v", rows, err)
	}
	wrongKey := base64.StdEncoding.EncodeToString([]byte("not the key"))
	err = c.PostDataCollector(ctx, env.emu.URL(), testWSID, wrongKey, "SIGNL4", dc, "")
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != "InvalidAuthorization" {
		t.Errorf("wrong key: %v", err)
	}
}

func TestEmulatorCheckPermissions(t *testing.T) {
	env := newEmu(t, []string{"Microsoft Sentinel Responder"}, []string{"SecurityIncident.Read.All"})
	c, _ := env.client(t)
	ctx := context.Background()
	m := checkByName(c.CheckPermissions(ctx, ModeSentinel, true, true, true))
	for _, name := range []string{"Sign-in for Azure Resource Manager", "Workspace", "Read incidents", "Run Log Analytics queries"} {
		if !m[name].OK || m[name].Unverified {
			t.Errorf("%s = %+v", name, m[name])
		}
	}
	for _, name := range []string{"Update incidents", "Comment on incidents", "Label incidents"} {
		if _, ok := m[name]; !ok {
			t.Errorf("no %s check", name)
		}
	}
	g := checkByName(c.CheckPermissions(ctx, ModeGraphIncidents, true, false, false))
	if !g["Read incidents"].OK || !g["Graph permission to read incidents"].OK {
		t.Errorf("graph read checks = %+v", g)
	}
	if u := g["Update incidents"]; u.OK || !strings.Contains(u.Detail, "missing application permission SecurityIncident.ReadWrite.All") {
		t.Errorf("graph update check = %+v", u)
	}
	a := checkByName(c.CheckPermissions(ctx, ModeGraphAlerts, false, false, false))
	if r := a["Read alerts"]; r.OK || !strings.Contains(r.Detail, "missing application permission SecurityAlert.Read.All") {
		t.Errorf("graph alerts read = %+v", r)
	}
	for _, r := range env.emu.Requests() {
		if r.Method != http.MethodGet && r.API != azureemu.APIEntra && r.API != azureemu.APILogAnalytics {
			t.Errorf("a check changed something: %s %s", r.Method, r.Path)
		}
	}
}
