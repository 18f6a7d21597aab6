package azuresetup

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
)

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testSub    = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	otherSub   = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	testRG     = "soc-rg"
	testWS     = "soc-workspace"
	adminUPN   = "ada@contoso.com"
)

// env is an emulator with a tenant, a subscription holding a Sentinel
// workspace, and an admin who may do everything setup does (Global
// Administrator, Owner on the subscription), signed in by device code
// without clicking.
type env struct {
	t      *testing.T
	emu    *azureemu.Emulator
	clk    *clock.Fake
	ws     azureemu.Workspace
	admin  azureemu.User
	sleeps []time.Duration
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// Near the wall clock: MSAL and TLS use time.Now.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	emu := azureemu.New(azureemu.Options{Clock: clk})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	must(t, emu.AddTenant(testTenant, "contoso.onmicrosoft.com"))
	must(t, emu.AddSubscription(azureemu.Subscription{ID: testSub, TenantID: testTenant, DisplayName: "Contoso Production"}))
	ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: testSub, ResourceGroup: testRG, Name: testWS, TenantID: testTenant})
	must(t, err)
	v := &env{t: t, emu: emu, clk: clk, ws: ws}
	v.admin = v.user(adminUPN, "Global Administrator")
	v.grantARM(adminUPN, "/subscriptions/"+testSub, "Owner")
	emu.SetAutoApprove(adminUPN)
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// user adds a user with Entra directory roles.
func (v *env) user(upn string, roles ...string) azureemu.User {
	v.t.Helper()
	u, err := v.emu.AddUser(testTenant, azureemu.User{UPN: upn, Email: upn, Name: strings.Split(upn, "@")[0]})
	must(v.t, err)
	must(v.t, v.emu.SetDirectoryRoles(testTenant, upn, roles...))
	return u
}

func (v *env) grantARM(login, scope, role string) {
	v.t.Helper()
	must(v.t, v.emu.GrantUserARMRole(testTenant, login, scope, role))
}

// config points a run at the emulator.
func (v *env) config(mut func(*Config)) Config {
	c := Config{Tenant: testTenant, Workspace: testWS, Yes: true, Augment: true,
		AuthorityHost: v.emu.URL() + "/", GraphURL: v.emu.URL(), ARMURL: v.emu.URL(), LogAnalytics: v.emu.URL()}
	if mut != nil {
		mut(&c)
	}
	return c
}

// deps wires a run to the emulator; sleeps advance the emulator's clock
// at once (so replication lag passes) and are recorded.
func (v *env) deps() Deps {
	v.stdout.Reset()
	v.stderr.Reset()
	return Deps{Stdout: &v.stdout, Stderr: &v.stderr, Getenv: func(string) string { return "" }, HTTP: v.emu.Client(), Clock: v.clk,
		Sleep: func(ctx context.Context, d time.Duration) error {
			v.mu.Lock()
			v.sleeps = append(v.sleeps, d)
			v.mu.Unlock()
			v.clk.Advance(d)
			return ctx.Err()
		}}
}

// run runs setup and returns its result and error.
func (v *env) run(mut func(*Config)) (*Result, error) {
	v.t.Helper()
	return Run(context.Background(), v.config(mut), v.deps())
}

// mustRun runs setup and fails the test on error.
func (v *env) mustRun(mut func(*Config)) *Result {
	v.t.Helper()
	res, err := v.run(mut)
	if err != nil {
		v.t.Fatalf("setup: %v\nstdout:\n%s\nstderr:\n%s", err, v.stdout.String(), v.stderr.String())
	}
	return res
}

// writes are the successful Graph and ARM writes so far.
func (v *env) writes() []azureemu.Request {
	var out []azureemu.Request
	for _, r := range v.emu.WriteRequests() {
		if r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

// ourApp is the app registration setup made.
func (v *env) ourApp(name string) azureemu.Application {
	v.t.Helper()
	for _, a := range v.emu.Applications(testTenant) {
		if a.DisplayName == name {
			return a
		}
	}
	v.t.Fatalf("no app registration %q in %+v", name, v.emu.Applications(testTenant))
	return azureemu.Application{}
}

// rolesOf lists "role@scope" of a principal's assignments.
func (v *env) rolesOf(principalID string) []string {
	var out []string
	for _, a := range v.emu.RoleAssignments() {
		if strings.EqualFold(a.PrincipalID, principalID) {
			out = append(out, a.RoleName+"@"+a.Scope)
		}
	}
	return out
}

func (v *env) spOf(appID string) azureemu.ServicePrincipal {
	v.t.Helper()
	for _, sp := range v.emu.ServicePrincipals(testTenant) {
		if strings.EqualFold(sp.AppID, appID) {
			return sp
		}
	}
	v.t.Fatalf("no service principal for app %s", appID)
	return azureemu.ServicePrincipal{}
}

// hasTable tells whether the workspace has the log table.
func (v *env) hasTable() bool {
	v.t.Helper()
	cols, err := v.emu.TableColumns(testWS, logTable)
	must(v.t, err)
	return len(cols) > 0
}
