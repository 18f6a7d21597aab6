package microsoft_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
)

func checks(t *testing.T, src connector.Source) map[string]connector.Check {
	t.Helper()
	out := map[string]connector.Check{}
	for _, c := range src.Check(context.Background()) {
		if _, dup := out[c.Name]; dup {
			t.Errorf("check %q twice", c.Name)
		}
		out[c.Name] = c
	}
	if len(out) == 0 {
		t.Fatal("no checks")
	}
	return out
}

func TestCheckSentinelFullyPermitted(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Contributor"))
	src := e.source(t, "sentinel", map[string]any{"augment": true,
		"log": map[string]any{"mode": "ingestion", "endpoint": e.emu.URL(), "dcrImmutableId": dcrID}})
	got := checks(t, src)
	for _, name := range []string{"Sign-in for Azure Resource Manager", "Workspace", "Read incidents", "Update incidents",
		"Comment on incidents", "Label incidents", "Run Log Analytics queries", "lifecycle log"} {
		c, ok := got[name]
		if !ok {
			t.Errorf("no %q check in %+v", name, got)
			continue
		}
		if !c.OK {
			t.Errorf("%s failed: %s", name, c.Detail)
		}
	}
	for name, c := range got {
		if !c.OK {
			t.Errorf("%s failed: %s", name, c.Detail)
		}
	}
	if d := got["Workspace"].Detail; !strings.Contains(d, wsID) {
		t.Errorf("workspace detail %q lacks its id", d)
	}
	// Checking changes nothing.
	for _, r := range e.emu.Requests() {
		if r.Method != http.MethodGet && r.API != azureemu.APIEntra && r.API != azureemu.APILogAnalytics {
			t.Errorf("a check wrote: %s %s", r.Method, r.Path)
		}
	}
}

func TestCheckSentinelWithoutRoles(t *testing.T) {
	e := newEnv(t, azureemu.App{})
	got := checks(t, e.source(t, "sentinel", nil))
	if c := got["Sign-in for Azure Resource Manager"]; !c.OK {
		t.Errorf("sign-in failed: %s", c.Detail)
	}
	c, ok := got["Read incidents"]
	if !ok || c.OK || !strings.Contains(c.Detail, "Microsoft Sentinel Reader") {
		t.Errorf("read check %+v, want a failure naming Microsoft Sentinel Reader", c)
	}
}

func TestCheckSentinelReaderCannotLabel(t *testing.T) {
	// Reader, plus the ability to list its own permissions where ARM
	// serves them: label and write checks are then either proven missing
	// or flagged as unverified, never silently OK.
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	got := checks(t, e.source(t, "sentinel", nil))
	if !got["Read incidents"].OK {
		t.Errorf("read: %+v", got["Read incidents"])
	}
	for name, role := range map[string]string{"Update incidents": "Microsoft Sentinel Responder", "Label incidents": "Microsoft Sentinel Contributor"} {
		c, ok := got[name]
		if !ok {
			t.Errorf("no %q check", name)
			continue
		}
		if !strings.Contains(c.Detail, role) {
			t.Errorf("%s detail %q does not name %s", name, c.Detail, role)
		}
		if c.OK && !strings.Contains(c.Detail, "not tested") {
			t.Errorf("%s passes for a Reader without saying it is unproven: %q", name, c.Detail)
		}
		if n := strings.Count(c.Detail, "write-back will tell"); n > 1 {
			t.Errorf("%s says it %d times: %q", name, n, c.Detail)
		}
	}
}

func TestCheckGraphIncidentsWithoutReadWrite(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	got := checks(t, e.source(t, "graph_incidents", nil))
	for _, name := range []string{"Sign-in for Microsoft Graph", "Read incidents"} {
		if c := got[name]; !c.OK {
			t.Errorf("%s failed: %+v", name, c)
		}
	}
	for _, name := range []string{"Update incidents", "Tag incidents"} {
		c, ok := got[name]
		if !ok || c.OK || !strings.Contains(c.Detail, "SecurityIncident.ReadWrite.All") {
			t.Errorf("%s = %+v, want a failure naming SecurityIncident.ReadWrite.All", name, c)
		}
	}

	e2 := newEnv(t, graphApp("SecurityIncident.ReadWrite.All"))
	for name, c := range checks(t, e2.source(t, "graph_incidents", nil)) {
		if !c.OK {
			t.Errorf("with ReadWrite, %s failed: %s", name, c.Detail)
		}
	}
}

func TestCheckGraphModesNamePermissions(t *testing.T) {
	tests := []struct {
		mode, perm, read string
	}{
		{"graph_alerts", "SecurityAlert.Read.All", "Read alerts"},
		{"graph_legacy", "SecurityEvents.Read.All", "Read legacy alerts"},
		{"graph_incidents", "SecurityIncident.Read.All", "Read incidents"},
	}
	e := newEnv(t, graphApp()) // consented to nothing
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			got := checks(t, e.source(t, tt.mode, nil))
			c, ok := got[tt.read]
			if !ok || c.OK || !strings.Contains(c.Detail, tt.perm) {
				t.Errorf("%s = %+v, want a failure naming %s", tt.read, c, tt.perm)
			}
		})
	}
}

func TestCheckWrongSecret(t *testing.T) {
	tests := []struct{ mode, signIn string }{
		{"sentinel", "Sign-in for Azure Resource Manager"},
		{"graph_incidents", "Sign-in for Microsoft Graph"},
	}
	e := newEnv(t, azureemu.App{ARMRoles: map[string][]string{wsResourceID: {"Microsoft Sentinel Contributor"}}, GraphRoles: []string{"SecurityIncident.ReadWrite.All"}})
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			got := checks(t, e.source(t, tt.mode, map[string]any{"clientSecret": "not-the-secret"}))
			c, ok := got[tt.signIn]
			if !ok || c.OK {
				t.Fatalf("sign-in check %+v, want a failure", c)
			}
			if !strings.Contains(c.Detail, "the client secret is wrong (use the secret's value, not its id)") || !strings.Contains(c.Detail, "AADSTS7000215") {
				t.Errorf("detail %q, want the plain words and the code", c.Detail)
			}
			if len(got) != 1 {
				t.Errorf("checks after a failed sign-in: %+v", got)
			}
		})
	}
}
