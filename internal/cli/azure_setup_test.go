package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/team"
)

const (
	setupTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	setupSub    = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	setupAdmin  = "ada@contoso.com"
)

// setupEmulator is an emulator with a tenant, a Sentinel workspace and an
// admin (Global Administrator, Owner) signed in by device code without
// clicking; it returns the emulator flags for `lastmile azure setup`.
func setupEmulator(t *testing.T) (*azureemu.Emulator, []string) {
	t.Helper()
	emu := azureemu.New(azureemu.Options{})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	for _, err := range []error{
		emu.AddTenant(setupTenant, "contoso.onmicrosoft.com"),
		emu.AddSubscription(azureemu.Subscription{ID: setupSub, TenantID: setupTenant, DisplayName: "Contoso Production"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: setupSub, ResourceGroup: "soc-rg", Name: "soc-workspace", TenantID: setupTenant}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AddUser(setupTenant, azureemu.User{UPN: setupAdmin, Email: setupAdmin, Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetDirectoryRoles(setupTenant, setupAdmin, "Global Administrator"); err != nil {
		t.Fatal(err)
	}
	if err := emu.GrantUserARMRole(setupTenant, setupAdmin, "/subscriptions/"+setupSub, "Owner"); err != nil {
		t.Fatal(err)
	}
	emu.SetAutoApprove(setupAdmin)
	ca := filepath.Join(t.TempDir(), "emulator-ca.pem")
	if err := os.WriteFile(ca, emu.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return emu, []string{"--tenant", setupTenant, "--authority-host", emu.URL() + "/", "--graph-url", emu.URL(),
		"--arm-url", emu.URL(), "--log-analytics-url", emu.URL(), "--ca-file", ca}
}

func setupArgs(flags []string, more ...string) []string {
	return append(append([]string{"azure", "setup"}, flags...), more...)
}

// The whole path: setup provisions the identity, creates the connector on
// a real lastmile server (in-process) and its connection test passes.
func TestAzureSetupCreatesConnector(t *testing.T) {
	emu, flags := setupEmulator(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := app.Config{Listen: "127.0.0.1:0", DatabaseURL: "sqlite:" + filepath.Join(dir, "lm.db"), LogLevel: "warn", LogFormat: "text",
		SQLiteSynchronous: "normal", PostgresSynchronousCommit: "on", DBMaxConns: 4, MaxBodyBytes: 1 << 20, Migrate: true,
		ShutdownTimeout: 5 * time.Second, EncryptionKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		ConnectorCAFile: flags[len(flags)-1]}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(ctx) })
	tm, _, err := a.Teams.CreateTeam(ctx, "SOC", "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.Teams.CreateUser(ctx, team.NewUser{Email: "admin@example.com", IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.Teams.CreateAPIKey(ctx, admin.ID, "")
	if err != nil {
		t.Fatal(err)
	}

	args := setupArgs(flags, "--workspace", "soc-workspace", "--yes", "--lifecycle-log", "--lastmile-url", a.BaseURL(), "--team", tm.ID)
	r := run(t, map[string]string{"LASTMILE_API_KEY": key}, args...)
	r.want(t, 0, args...)
	for _, w := range []string{"created on the lastmile server", "The connector is ready.", "ok   Sign-in for Azure Resource Manager", "Client secret:"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", w, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "To sign in, use a web browser to open the page") {
		t.Errorf("the device code message was not shown: %s", r.stderr)
	}
	// The server holds the connector, with the secret sealed.
	req, _ := http.NewRequest(http.MethodGet, a.BaseURL()+"/api/v1/teams/"+tm.ID+"/connectors", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var list struct {
		Items []struct {
			Source   string         `json:"source"`
			Settings map[string]any `json:"settings"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Items) != 1 || list.Items[0].Source != "sentinel" {
		t.Fatalf("connectors: %v %s", err, body)
	}
	s := list.Items[0].Settings
	if s["clientSecret"] != "********" || s["workspaceName"] != "soc-workspace" || s["log"] == nil {
		t.Fatalf("settings %v", s)
	}
	if len(emu.Applications(setupTenant)) != 1 {
		t.Fatalf("apps %+v", emu.Applications(setupTenant))
	}

	// --remove --json undoes it, as one JSON document.
	args = setupArgs(flags, "--remove", "--remove-table", "--yes", "--json")
	r = run(t, nil, args...)
	r.want(t, 0, args...)
	var doc struct {
		Removed bool `json:"removed"`
		Changed bool `json:"changed"`
		Plan    []struct {
			Action string `json:"action"`
			Kind   string `json:"kind"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || !doc.Removed || !doc.Changed || len(doc.Plan) < 5 {
		t.Fatalf("remove --json: %v %s", err, r.stdout)
	}
	if len(emu.Applications(setupTenant)) != 0 || len(emu.DataCollectionRules()) != 0 {
		t.Fatal("remove left objects")
	}
}

// --json --dry-run prints the plan as one document and changes nothing.
func TestAzureSetupDryRunJSON(t *testing.T) {
	emu, flags := setupEmulator(t)
	args := setupArgs(flags, "--workspace", "soc-workspace", "--dry-run", "--json", "--mode", "graph_incidents", "--augment")
	r := run(t, nil, args...)
	r.want(t, 0, args...)
	var doc struct {
		DryRun bool   `json:"dryRun"`
		Mode   string `json:"mode"`
		Plan   []struct {
			Action string `json:"action"`
			Object string `json:"object"`
			Why    string `json:"why"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || !doc.DryRun || doc.Mode != "graph_incidents" {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	objects := ""
	for _, s := range doc.Plan {
		objects += s.Action + " " + s.Object + "\n"
	}
	for _, w := range []string{"create app registration", "create client secret", "create service principal",
		"create Microsoft Graph application permission SecurityIncident.ReadWrite.All", "create Log Analytics Reader on workspace soc-workspace"} {
		if !strings.Contains(objects, w) {
			t.Errorf("plan lacks %q:\n%s", w, objects)
		}
	}
	if w := emu.WriteRequests(); len(w) != 0 {
		t.Fatalf("dry run wrote %+v", w)
	}
}

func TestAzureSetupUsage(t *testing.T) {
	emu, flags := setupEmulator(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--mode", "nope"}, 2, "--mode"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--certificate", "x.pem", "--secret-months", "3"}, 2, "exclude"},
		{[]string{"--lastmile-url", "http://127.0.0.1:1", "--team", "t"}, 2, "API key"},
		// No terminal: the workspace must be named; the error lists them.
		{flags, 2, "resource group soc-rg: soc-workspace"},
		// No terminal and no --yes: nothing is changed.
		{append(flags, "--workspace", "soc-workspace"), 2, "--yes"},
	} {
		args := setupArgs(tc.args)
		r := run(t, nil, args...)
		r.want(t, tc.code, args...)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.want)
		}
	}
	if w := emu.WriteRequests(); len(w) != 0 {
		t.Fatalf("usage errors wrote %+v", w)
	}
	r := run(t, nil, "azure", "setup", "-h")
	r.want(t, 0, "azure", "setup", "-h")
	if !strings.Contains(r.stderr, "-lifecycle-log") {
		t.Errorf("help: %s", r.stderr)
	}
}

// An admin without the right to assign roles: exit 1, in plain words.
func TestAzureSetupNoRights(t *testing.T) {
	emu, flags := setupEmulator(t)
	if _, err := emu.AddUser(setupTenant, azureemu.User{UPN: "dev@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetDirectoryRoles(setupTenant, "dev@contoso.com", "Global Administrator"); err != nil {
		t.Fatal(err)
	}
	if err := emu.GrantUserARMRole(setupTenant, "dev@contoso.com", "/subscriptions/"+setupSub, "Contributor"); err != nil {
		t.Fatal(err)
	}
	emu.SetAutoApprove("dev@contoso.com")
	args := setupArgs(flags, "--workspace", "soc-workspace", "--yes")
	r := run(t, nil, args...)
	r.want(t, 1, args...)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "lastmile azure: you (dev@contoso.com) are not allowed to create role assignments on workspace soc-workspace") {
		t.Fatalf("stderr: %q", r.stderr)
	}
}

// The new client secret is printed once, at the end, and nowhere else.
func TestAzureSetupPrintsTheSecretOnce(t *testing.T) {
	_, flags := setupEmulator(t)
	args := setupArgs(flags, "--workspace", "soc-workspace", "--yes")
	r := run(t, nil, args...)
	r.want(t, 0, args...)
	m := regexp.MustCompile(`Client secret:\s+(\S+)\s+\(shown only now`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no client secret in the output:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout+r.stderr, m[1]); n != 1 {
		t.Fatalf("the secret appears %d times in the output:\n%s", n, r.stdout)
	}
	if !strings.Contains(r.stdout, `"clientSecret": "<the client secret above>"`) {
		t.Errorf("the connector body does not point at the secret:\n%s", r.stdout)
	}
}
