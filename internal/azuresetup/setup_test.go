package azuresetup

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// connectorClient is the connector's own client, built from the settings
// setup printed: what the connector will be able to do.
func (v *env) connectorClient(s map[string]any) *sentinel.Client {
	v.t.Helper()
	str := func(k string) string { x, _ := s[k].(string); return x }
	ep, _ := s["endpoints"].(map[string]any)
	e := func(k string) string { x, _ := ep[k].(string); return x }
	c, err := sentinel.New(sentinel.Config{TenantID: str("tenantId"), SubscriptionID: str("subscriptionId"), ClientID: str("clientId"),
		ClientSecret: str("clientSecret"), CertificatePEM: str("certificate"), ResourceGroup: str("resourceGroup"),
		WorkspaceName: str("workspaceName"), WorkspaceID: str("workspaceId"), HTTP: v.emu.Client(),
		Endpoints: sentinel.Endpoints{AuthorityHost: e("authorityHost"), ResourceManager: e("resourceManager"), Graph: e("graph"), LogAnalytics: e("logAnalytics")},
		Sleep:     func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		v.t.Fatalf("the printed settings do not make a client: %v (%v)", err, s)
	}
	return c
}

func hasPrefixed(list []string, prefix string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

// A fresh tenant, sentinel mode with the lifecycle log: everything is
// created, roles sit on the workspace and the rule (never the
// subscription), and the printed credential does exactly what the roles
// allow.
func TestFreshTenantSentinel(t *testing.T) {
	v := newEnv(t)
	inc, err := v.emu.AddIncident(testWS, azureemu.Incident{Title: "Brute force", Severity: "High", Status: "New"})
	must(t, err)
	res := v.mustRun(func(c *Config) { c.LifecycleLog = true })

	app := v.ourApp(DefaultAppName)
	if res.ClientID != app.AppID || len(app.Passwords) != 1 || app.Passwords[0].DisplayName != secretName {
		t.Fatalf("app %+v, result client id %s", app, res.ClientID)
	}
	if len(app.RequiredResourceAccess) != 0 {
		t.Errorf("sentinel mode should declare no Graph permissions: %+v", app.RequiredResourceAccess)
	}
	if end := app.Passwords[0].End.Sub(v.clk.Now()); end < 364*24*time.Hour || end > 367*24*time.Hour {
		t.Errorf("secret lifetime %s, want 12 months", end)
	}
	sp := v.spOf(app.AppID)
	if sp.ObjectID != res.ServicePrincipalID {
		t.Errorf("service principal %s, result says %s", sp.ObjectID, res.ServicePrincipalID)
	}
	roles := v.rolesOf(sp.ObjectID)
	dcr := "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.Insights/dataCollectionRules/" + dcrName
	want := []string{"Microsoft Sentinel Responder@" + v.ws.ResourceID(), "Log Analytics Reader@" + v.ws.ResourceID(), "Monitoring Metrics Publisher@" + dcr}
	slices.Sort(roles)
	slices.Sort(want)
	if !slices.Equal(roles, want) {
		t.Fatalf("roles %v, want %v", roles, want)
	}
	for _, a := range v.emu.RoleAssignments() {
		if a.PrincipalID == sp.ObjectID && a.PrincipalType != "ServicePrincipal" {
			t.Errorf("assignment %s has principalType %q", a.Name, a.PrincipalType)
		}
		if a.PrincipalID == sp.ObjectID && a.Name != assignmentName(a.Scope, sp.ObjectID, a.RoleDefinitionID) {
			t.Errorf("assignment %s is not named deterministically", a.Name)
		}
	}
	if g := v.emu.AppRoleGrants(testTenant); len(g) != 0 {
		t.Errorf("sentinel mode granted Graph permissions: %+v", g)
	}
	rules := v.emu.DataCollectionRules()
	if len(rules) != 1 || rules[0].Kind != "Direct" || rules[0].LogsIngestionEndpoint == "" {
		t.Fatalf("rules %+v", rules)
	}
	if cols, err := v.emu.TableColumns(testWS, logTable); err != nil || len(cols) != len(logColumns()) {
		t.Fatalf("table: %v %+v", err, cols)
	}

	// The secret is in this output only, never on stderr (logs, progress).
	secret, _ := res.Settings["clientSecret"].(string)
	if secret == "" || !strings.Contains(v.stdout.String(), secret) || strings.Contains(v.stderr.String(), secret) {
		t.Fatalf("secret %q: stdout %s\nstderr %s", secret, v.stdout.String(), v.stderr.String())
	}
	for _, w := range []string{"Tenant ID:", testTenant, "Subscription ID:", testSub, "Client ID:", app.AppID, "Resource group:", testRG,
		"workspace id " + v.ws.WorkspaceID, `"source": "sentinel"`, `"label": "-"`, "To sign in, use a web browser to open"} {
		if !strings.Contains(v.stdout.String()+v.stderr.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}

	// The printed credential: reads incidents, may change status and
	// comment (Responder), may not label (Contributor), may query
	// (augmentation), may send lifecycle records.
	ctx := context.Background()
	c := v.connectorClient(res.Settings)
	list, err := c.ListIncidents(ctx, sentinel.IncidentQuery{})
	if err != nil || len(list) != 1 || list[0].Name != inc.Name {
		t.Fatalf("list incidents with the printed credential: %v %+v", err, list)
	}
	if _, err := c.UpdateIncident(ctx, inc.Name, func(i *sentinel.Incident) (bool, error) { i.Properties.Status = "Active"; return true, nil }); err != nil {
		t.Fatalf("Responder should change the status: %v", err)
	}
	_, err = c.UpdateIncident(ctx, inc.Name, func(i *sentinel.Incident) (bool, error) {
		i.Properties.Labels = append(i.Properties.Labels, sentinel.Label{LabelName: "SIGNL4"})
		return true, nil
	})
	var apiErr *sentinel.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("a label needs Contributor, which was not asked for: %v", err)
	}
	if _, err := c.Query(ctx, v.ws.WorkspaceID, "print x=1", "PT5M"); err != nil {
		t.Fatalf("augmentation query: %v", err)
	}
	log, _ := res.Settings["log"].(map[string]any)
	if err := c.Upload(ctx, log["endpoint"].(string), log["dcrImmutableId"].(string), log["stream"].(string),
		[]map[string]any{{"TimeGenerated": time.Now().UTC().Format(time.RFC3339), "EventType": "created", "AlertId": "a1"}}); err != nil {
		t.Fatalf("lifecycle record through the rule: %v", err)
	}
}

// Labels: Contributor instead of Responder, and the connector keeps the
// default label.
func TestLabelsGrantContributor(t *testing.T) {
	v := newEnv(t)
	inc, err := v.emu.AddIncident(testWS, azureemu.Incident{Title: "x", Severity: "Low", Status: "New"})
	must(t, err)
	res := v.mustRun(func(c *Config) { c.Labels = true; c.Augment = false })
	roles := v.rolesOf(res.ServicePrincipalID)
	if !slices.Equal(roles, []string{"Microsoft Sentinel Contributor@" + v.ws.ResourceID()}) {
		t.Fatalf("roles %v", roles)
	}
	if _, ok := res.Settings["label"]; ok {
		t.Errorf("with --labels the default label should stay: %v", res.Settings)
	}
	if _, err := v.connectorClient(res.Settings).UpdateIncident(context.Background(), inc.Name, func(i *sentinel.Incident) (bool, error) {
		i.Properties.Labels = append(i.Properties.Labels, sentinel.Label{LabelName: "SIGNL4"})
		return true, nil
	}); err != nil {
		t.Fatalf("Contributor should label: %v", err)
	}

	// Without --labels the next run swaps Contributor for Responder.
	res = v.mustRun(func(c *Config) { c.Augment = false })
	roles = v.rolesOf(res.ServicePrincipalID)
	if !slices.Equal(roles, []string{"Microsoft Sentinel Responder@" + v.ws.ResourceID()}) {
		t.Fatalf("roles after dropping --labels %v", roles)
	}
	if !strings.Contains(v.stdout.String(), "remove  Microsoft Sentinel Contributor on workspace "+testWS) {
		t.Errorf("the plan should say the Contributor role goes:\n%s", v.stdout.String())
	}
}

// Graph mode: the app declares and is granted exactly the mode's
// permission (admin consent through the API); no Azure roles.
func TestGraphIncidentsMode(t *testing.T) {
	v := newEnv(t)
	gi, err := v.emu.AddGraphIncident(testTenant, azureemu.GraphIncident{DisplayName: "Ransomware", Severity: "high", Status: "active"})
	must(t, err)
	res := v.mustRun(func(c *Config) { c.Mode = ModeGraphIncidents; c.Workspace = ""; c.Augment = false })

	app := v.ourApp(DefaultAppName)
	if len(app.RequiredResourceAccess) != 1 || app.RequiredResourceAccess[0].ResourceAppID != graphAppID ||
		len(app.RequiredResourceAccess[0].ResourceAccess) != 1 || app.RequiredResourceAccess[0].ResourceAccess[0].ID != "34bf0e97-1971-4929-b999-9e2442d941d7" {
		t.Fatalf("declared permissions %+v", app.RequiredResourceAccess)
	}
	grants := v.emu.AppRoleGrants(testTenant)
	if len(grants) != 1 || grants[0].Permission != "SecurityIncident.ReadWrite.All" || grants[0].PrincipalID != res.ServicePrincipalID {
		t.Fatalf("grants %+v", grants)
	}
	if r := v.rolesOf(res.ServicePrincipalID); len(r) != 0 {
		t.Errorf("graph mode without a workspace got Azure roles %v", r)
	}
	if _, ok := res.Settings["subscriptionId"]; ok {
		t.Errorf("graph mode without a workspace needs no subscription: %v", res.Settings)
	}
	if !strings.Contains(v.stdout.String(), "the app signs in with SecurityIncident.ReadWrite.All") {
		t.Errorf("the credential was not verified:\n%s", v.stdout.String())
	}
	c := v.connectorClient(res.Settings)
	ctx := context.Background()
	if list, err := c.ListGraphIncidents(ctx, time.Now().Add(-time.Hour), nil); err != nil || len(list) != 1 || list[0].ID != gi.ID {
		t.Fatalf("incidents with the printed credential: %v %+v", err, list)
	}
	if _, err := c.ListAlertsV2(ctx, time.Now().Add(-time.Hour), nil); err == nil {
		t.Fatal("alerts_v2 needs SecurityAlert.*, which this mode does not grant")
	}
}

// A second run finds everything, changes nothing and says so.
func TestRerunChangesNothing(t *testing.T) {
	v := newEnv(t)
	v.mustRun(func(c *Config) { c.LifecycleLog = true; c.Mode = ModeGraphAlerts })
	before := len(v.writes())
	res := v.mustRun(func(c *Config) { c.LifecycleLog = true; c.Mode = ModeGraphAlerts })
	if after := len(v.writes()); after != before {
		t.Fatalf("the rerun made %d writes: %+v", after-before, v.writes()[before:])
	}
	if res.Changed || changes(res.Plan) != 0 {
		t.Fatalf("rerun plan %+v", res.Plan)
	}
	out := v.stdout.String()
	for _, w := range []string{"Nothing to change", "existing secret kept; its value cannot be shown again — use --new-secret"} {
		if !strings.Contains(out, w) {
			t.Errorf("rerun output lacks %q:\n%s", w, out)
		}
	}
	if len(v.ourApp(DefaultAppName).Passwords) != 1 {
		t.Error("the rerun added a secret")
	}

	// --new-secret makes one more; the connector can use it.
	res = v.mustRun(func(c *Config) { c.LifecycleLog = true; c.Mode = ModeGraphAlerts; c.NewSecret = true })
	if n := len(v.ourApp(DefaultAppName).Passwords); n != 2 || res.Settings["clientSecret"] == nil {
		t.Fatalf("--new-secret: %d secrets, settings %v", n, res.Settings)
	}
	// A connector needs the secret: without --new-secret, --lastmile-url
	// is refused before anything happens.
	_, err := v.run(func(c *Config) {
		c.Mode = ModeGraphAlerts
		c.LastmileURL, c.LastmileAPIKey, c.Team = "http://127.0.0.1:1", "k", "team"
	})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--new-secret") {
		t.Fatalf("--lastmile-url on a rerun: %v", err)
	}
}

// A dry run makes no write request and lists every object.
func TestDryRun(t *testing.T) {
	v := newEnv(t)
	res := v.mustRun(func(c *Config) { c.DryRun = true; c.LifecycleLog = true; c.Labels = true; c.Mode = ModeSentinel })
	if w := v.emu.WriteRequests(); len(w) != 0 {
		t.Fatalf("dry run wrote: %+v", w)
	}
	if len(v.emu.Applications(testTenant)) != 0 {
		t.Fatal("dry run created an app")
	}
	kinds := map[string]bool{}
	for _, s := range res.Plan {
		kinds[s.Kind] = true
		if s.Action != Create || s.Why == "" {
			t.Errorf("step %+v", s)
		}
	}
	for _, k := range []string{kindApp, kindSecret, kindSP, kindRole, kindTable, kindDCR} {
		if !kinds[k] {
			t.Errorf("the plan lacks a %s step: %+v", k, res.Plan)
		}
	}
	out := v.stdout.String()
	for _, w := range []string{"create  Microsoft Sentinel Contributor on workspace soc-workspace", "labels",
		"create  Log Analytics Reader on workspace soc-workspace", "create  Monitoring Metrics Publisher on data collection rule",
		"Dry run: nothing was changed."} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Client secret:") {
		t.Errorf("a dry run has no credential to print:\n%s", out)
	}
	// Graph permissions show too.
	res = v.mustRun(func(c *Config) { c.DryRun = true; c.Mode = ModeGraphAlerts; c.Workspace = ""; c.Augment = false })
	if len(v.emu.WriteRequests()) != 0 || !strings.Contains(v.stdout.String(), "create  Microsoft Graph application permission SecurityAlert.ReadWrite.All (admin consent)") {
		t.Fatalf("graph dry run:\n%s", v.stdout.String())
	}
}

// An admin who may create apps but not grant Graph app roles gets the
// one consent link; everything else is done, and the run succeeds with a
// warning.
func TestConsentDenied(t *testing.T) {
	v := newEnv(t)
	v.user("app.admin@contoso.com", "Application Administrator")
	v.grantARM("app.admin@contoso.com", "/subscriptions/"+testSub, "Owner")
	v.emu.SetAutoApprove("app.admin@contoso.com")
	res := v.mustRun(func(c *Config) { c.Mode = ModeGraphIncidents })
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Global Administrator") {
		t.Fatalf("warnings %v", res.Warnings)
	}
	wantURL := v.emu.URL() + "/" + testTenant + "/adminconsent?client_id=" + res.ClientID
	if res.ConsentURL != wantURL || !strings.Contains(v.stderr.String(), wantURL) || !strings.Contains(v.stdout.String(), wantURL) {
		t.Fatalf("consent link %q (want %q)\nstdout %s\nstderr %s", res.ConsentURL, wantURL, v.stdout.String(), v.stderr.String())
	}
	if g := v.emu.AppRoleGrants(testTenant); len(g) != 0 {
		t.Fatalf("grants %+v", g)
	}
	if roles := v.rolesOf(res.ServicePrincipalID); !slices.Equal(roles, []string{"Log Analytics Reader@" + v.ws.ResourceID()}) {
		t.Fatalf("the rest was not done: roles %v", roles)
	}
	if len(v.ourApp(DefaultAppName).RequiredResourceAccess) != 1 {
		t.Error("the app should still declare the permission the link consents to")
	}
}

// An admin without role-assignment rights gets a clear error before
// anything is created.
func TestNoRoleAssignmentRights(t *testing.T) {
	v := newEnv(t)
	v.user("dev@contoso.com", "Global Administrator")
	v.grantARM("dev@contoso.com", "/subscriptions/"+testSub, "Contributor")
	v.emu.SetAutoApprove("dev@contoso.com")
	_, err := v.run(nil)
	if err == nil || !strings.Contains(err.Error(), "not allowed to create role assignments on workspace soc-workspace") ||
		!strings.Contains(err.Error(), "Owner or User Access Administrator") || !strings.Contains(err.Error(), "ask someone who has") {
		t.Fatalf("err = %v", err)
	}
	if w := v.writes(); len(w) != 0 {
		t.Fatalf("wrote before failing: %+v", w)
	}
	// Rights on the workspace alone are enough for the workspace roles.
	v.grantARM("dev@contoso.com", v.ws.ResourceID(), "User Access Administrator")
	v.mustRun(nil)
}

// When ARM refuses at apply time all the same, the error says what to do.
func TestRoleAssignmentRefusedWords(t *testing.T) {
	v := newEnv(t)
	v.emu.Fail(azureemu.FailRule{PathContains: "/roleAssignments/", Method: http.MethodPut, Status: http.StatusForbidden,
		Body: `{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write'."}}`})
	_, err := v.run(nil)
	if err == nil || !strings.Contains(err.Error(), "not allowed to create role assignments on workspace soc-workspace") ||
		!strings.Contains(err.Error(), "AuthorizationFailed") {
		t.Fatalf("err = %v", err)
	}
}

// Remove deletes exactly what setup made; the table only when asked.
func TestRemove(t *testing.T) {
	v := newEnv(t)
	adminRoles := len(v.emu.RoleAssignments())
	v.mustRun(func(c *Config) { c.LifecycleLog = true; c.Mode = ModeGraphIncidents })
	// Someone else's app, and a rule of the same kind not made by setup.
	other := v.mustRun(func(c *Config) {
		c.AppName = "someone else"
		c.Mode = ModeGraphIncidents
		c.Workspace = ""
		c.Augment = false
	})

	// A dry run removes nothing.
	res := v.mustRun(func(c *Config) { c.Remove = true; c.DryRun = true })
	before := len(v.writes())
	if len(v.emu.Applications(testTenant)) != 2 || len(res.Plan) == 0 {
		t.Fatalf("dry run removed something or planned nothing: %+v", res.Plan)
	}
	if !strings.Contains(v.stdout.String(), "keep    table SIGNL4_CL in workspace soc-workspace") {
		t.Errorf("the table should be kept without --remove-table:\n%s", v.stdout.String())
	}

	v.mustRun(func(c *Config) { c.Remove = true; c.Workspace = "" })
	if len(v.writes()) == before {
		t.Fatal("remove removed nothing")
	}
	apps := v.emu.Applications(testTenant)
	if len(apps) != 1 || apps[0].AppID != other.ClientID {
		t.Fatalf("apps left %+v", apps)
	}
	if n := len(v.emu.RoleAssignments()); n != adminRoles {
		t.Fatalf("role assignments left: %+v", v.emu.RoleAssignments())
	}
	if len(v.emu.DataCollectionRules()) != 0 {
		t.Fatalf("rules left: %+v", v.emu.DataCollectionRules())
	}
	for _, g := range v.emu.AppRoleGrants(testTenant) {
		if g.PrincipalID != other.ServicePrincipalID {
			t.Fatalf("grant left %+v", g)
		}
	}
	if !v.hasTable() {
		t.Fatal("the table should stay without --remove-table")
	}

	// Setup again: the table is there already, so this run did not make
	// it, and even --remove-table keeps it.
	v.mustRun(func(c *Config) { c.LifecycleLog = true })
	v.mustRun(func(c *Config) {
		c.Remove = true
		c.RemoveTable = true
		c.Workspace = ""
		c.Subscription = "Contoso Production"
	})
	if !v.hasTable() {
		t.Fatal("--remove-table dropped a table setup had not made")
	}
	if len(v.emu.Applications(testTenant)) != 1 || len(v.emu.RoleAssignments()) != adminRoles || len(v.emu.DataCollectionRules()) != 0 {
		t.Fatal("second remove left objects")
	}

	// A table setup made goes with --remove-table.
	v = newEnv(t)
	v.mustRun(func(c *Config) { c.LifecycleLog = true })
	v.mustRun(func(c *Config) { c.Remove = true; c.RemoveTable = true })
	if v.hasTable() {
		t.Fatal("--remove-table kept the table setup made")
	}

	// Nothing left to remove.
	v.mustRun(func(c *Config) { c.Remove = true })
	if !strings.Contains(v.stdout.String(), "Nothing to remove") {
		t.Errorf("output %s", v.stdout.String())
	}
}

// Remove refuses an app of the same name that setup did not make.
func TestRemoveRefusesForeignApp(t *testing.T) {
	v := newEnv(t)
	v.mustRun(func(c *Config) { c.Mode = ModeGraphIncidents; c.Workspace = ""; c.Augment = false })
	// Drop the tag, as if someone made the app by hand.
	app := v.ourApp(DefaultAppName)
	cfg := v.config(nil)
	r, err := newRunner(cfg, v.deps())
	must(t, err)
	must(t, r.signInAndClients(context.Background()))
	must(t, r.graph.patchApp(context.Background(), app.ObjectID, map[string]any{"tags": []string{}}))
	before := len(v.writes())
	_, err = v.run(func(c *Config) { c.Remove = true })
	if err == nil || !strings.Contains(err.Error(), "was not made by this tool") {
		t.Fatalf("err = %v", err)
	}
	if len(v.writes()) != before {
		t.Fatal("removed a foreign app")
	}
}

// Entra's replication lag: dependent writes fail for a while; setup
// polls (through the injected sleep) and succeeds.
func TestReplicationLag(t *testing.T) {
	v := newEnv(t)
	v.emu.SetReplicationLag(40 * time.Second)
	res := v.mustRun(func(c *Config) { c.Mode = ModeGraphIncidents; c.LifecycleLog = true })
	if len(v.sleeps) == 0 {
		t.Fatal("no waits: the lag was not met")
	}
	var waited time.Duration
	for _, d := range v.sleeps {
		waited += d
	}
	if waited < 40*time.Second {
		t.Fatalf("waited %s in all", waited)
	}
	if g := v.emu.AppRoleGrants(testTenant); len(g) != 1 {
		t.Fatalf("grants %+v", g)
	}
	if len(v.rolesOf(res.ServicePrincipalID)) != 2 {
		t.Fatalf("roles %v", v.rolesOf(res.ServicePrincipalID))
	}
	if !strings.Contains(v.stderr.String(), "waiting for the app registration to replicate") {
		t.Errorf("no progress shown:\n%s", v.stderr.String())
	}
	// Failed writes during the lag were retried, not duplicated.
	failed := 0
	for _, r := range v.emu.WriteRequests() {
		if r.Status >= 400 {
			failed++
		}
	}
	if failed == 0 {
		t.Error("the lag caused no refusals: the test proves nothing")
	}
}

// The workspace: named, or listed by resource group and asked for.
func TestWorkspaceChoice(t *testing.T) {
	v := newEnv(t)
	_, err := v.emu.AddWorkspace(azureemu.Workspace{SubscriptionID: testSub, ResourceGroup: "analytics-rg", Name: "lab-ws", TenantID: testTenant})
	must(t, err)
	_, err = v.run(func(c *Config) { c.Workspace = ""; c.DryRun = true })
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "resource group analytics-rg: lab-ws") || !strings.Contains(err.Error(), "resource group soc-rg: soc-workspace") {
		t.Fatalf("without a terminal: %v", err)
	}
	_, err = v.run(func(c *Config) { c.Workspace = "nope"; c.DryRun = true })
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--workspace nope: not found") {
		t.Fatalf("unknown workspace: %v", err)
	}
	// At a terminal: pick the second (sorted by resource group).
	d := v.deps()
	d.Interactive, d.Stdin = true, strings.NewReader("2\n")
	res, err := Run(context.Background(), v.config(func(c *Config) { c.Workspace = ""; c.DryRun = true }), d)
	if err != nil || res.WorkspaceName != testWS {
		t.Fatalf("interactive choice: %v %+v\n%s", err, res, v.stderr.String())
	}
	if !strings.Contains(v.stderr.String(), "lab-ws (resource group analytics-rg") {
		t.Errorf("the list was not shown:\n%s", v.stderr.String())
	}
}

// Without --yes: no terminal means no changes; at a terminal, the admin
// decides.
func TestConfirmation(t *testing.T) {
	v := newEnv(t)
	_, err := v.run(func(c *Config) { c.Yes = false })
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--yes") || len(v.writes()) != 0 {
		t.Fatalf("non-interactive without --yes: %v, writes %d", err, len(v.writes()))
	}
	d := v.deps()
	d.Interactive, d.Stdin = true, strings.NewReader("n\n")
	_, err = Run(context.Background(), v.config(func(c *Config) { c.Yes = false }), d)
	if !ErrAborted(err) || len(v.writes()) != 0 {
		t.Fatalf("declined: %v, writes %d", err, len(v.writes()))
	}
	d = v.deps()
	d.Interactive, d.Stdin = true, strings.NewReader("y\n")
	if _, err := Run(context.Background(), v.config(func(c *Config) { c.Yes = false }), d); err != nil || len(v.writes()) == 0 {
		t.Fatalf("accepted: %v", err)
	}
}

// Throttling is retried with the service's Retry-After.
func TestThrottlingRetried(t *testing.T) {
	v := newEnv(t)
	v.emu.Fail(azureemu.FailRule{PathContains: "/applications", Method: http.MethodGet, Status: http.StatusTooManyRequests, RetryAfter: "7", Times: 2})
	v.mustRun(func(c *Config) { c.DryRun = true })
	if n := slices.Index(v.sleeps, 7*time.Second); n < 0 {
		t.Fatalf("sleeps %v: Retry-After not honoured", v.sleeps)
	}
}

// At a terminal the wait is one line of dots.
func TestProgressAtTerminal(t *testing.T) {
	v := newEnv(t)
	v.emu.SetReplicationLag(20 * time.Second)
	d := v.deps()
	d.Interactive, d.Stdin = true, strings.NewReader("")
	if _, err := Run(context.Background(), v.config(func(c *Config) { c.Workspace = ""; c.Mode = ModeGraphIncidents; c.Augment = false }), d); err != nil {
		t.Fatal(err)
	}
	out := v.stderr.String()
	if !strings.Contains(out, "waiting for the app registration to replicate ...") || !strings.Contains(out, ". done\n") || strings.Contains(out, "next try in") {
		t.Fatalf("progress:\n%s", out)
	}
}
