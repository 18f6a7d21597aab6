package azuresetup

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"defaults", Config{}, ""},
		{"mode", Config{Mode: "graph"}, "--mode"},
		{"tenant", Config{Tenant: "not a tenant"}, "--tenant"},
		{"workspace", Config{Workspace: "a b"}, "--workspace"},
		{"months", Config{SecretMonths: 25}, "--secret-months"},
		{"cert", Config{Certificate: []byte("nope")}, "--certificate"},
		{"cert and new secret", Config{Certificate: certPEM(t, "x"), NewSecret: true}, "exclude"},
		{"remove-table alone", Config{RemoveTable: true}, "--remove-table"},
		{"url without key", Config{LastmileURL: "https://lm.example"}, "API key"},
		{"url without team", Config{LastmileURL: "https://lm.example", LastmileAPIKey: "k"}, "--team"},
		{"url scheme", Config{LastmileURL: "lm.example", LastmileAPIKey: "k", Team: "t"}, "--lastmile-url"},
		{"cloud", Config{Cloud: "Mars"}, "--cloud"},
		{"plain http override", Config{ARMURL: "http://127.0.0.1"}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.normalize()
			var ue *UsageError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tc.want != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want a usage error about %s", err, tc.want)
			}
		})
	}
	c := Config{}
	if err := c.normalize(); err != nil || c.Mode != ModeSentinel || c.AppName != DefaultAppName || c.SecretMonths != 12 || c.Cloud != "AzurePublic" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestAssignmentName(t *testing.T) {
	ws := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
	a := assignmentName(ws, "p1", sentinelResponderID)
	if a != assignmentName(strings.ToUpper(ws)+"/", "P1", sentinelResponderID) {
		t.Error("the name should not depend on case or a trailing slash")
	}
	for _, other := range []string{assignmentName(ws, "p2", sentinelResponderID), assignmentName(ws, "p1", logAnalyticsReaderID), assignmentName(ws+"2", "p1", sentinelResponderID)} {
		if other == a {
			t.Error("different scope, principal or role must give another name")
		}
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("%s is not a UUID v5", a)
	}
}

func TestActionMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", actionAssignRoles, true},
		{"Microsoft.Authorization/*", actionAssignRoles, true},
		{"microsoft.authorization/roleassignments/write", actionAssignRoles, true},
		{"*/read", actionAssignRoles, false},
		{"Microsoft.Authorization/*/Write", actionAssignRoles, true},
		{"Microsoft.Insights/*", actionAssignRoles, false},
	} {
		if got := actionMatch(tc.pattern, tc.action); got != tc.want {
			t.Errorf("actionMatch(%q, %q) = %v", tc.pattern, tc.action, got)
		}
	}
	var d roleDefinition
	d.Properties.Permissions = append(d.Properties.Permissions, struct {
		Actions    []string `json:"actions"`
		NotActions []string `json:"notActions"`
	}{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Write"}})
	if d.permits(actionAssignRoles) {
		t.Error("Contributor's notActions should win")
	}
}

func TestScopeCovers(t *testing.T) {
	ws := "/subscriptions/S/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"
	for _, tc := range []struct {
		scope string
		want  bool
	}{{"/subscriptions/s", true}, {"/subscriptions/s/resourcegroups/RG", true}, {ws, true}, {"/", true},
		{"/subscriptions/s/resourceGroups/rg2", false}, {ws + "2", false}} {
		if got := scopeCovers(tc.scope, ws); got != tc.want {
			t.Errorf("scopeCovers(%q) = %v", tc.scope, got)
		}
	}
}

// Each mode asks for its own Graph permissions only; SecurityEvents
// (legacy) only for graph_legacy.
func TestGraphPermissionsPerMode(t *testing.T) {
	names := func(mode string) string { return permNames(graphPermissions(mode)) }
	for mode, want := range map[string]string{
		ModeSentinel:       "",
		ModeGraphIncidents: "SecurityIncident.ReadWrite.All",
		ModeGraphAlerts:    "SecurityAlert.ReadWrite.All, SecurityIncident.ReadWrite.All",
		ModeGraphLegacy:    "SecurityEvents.ReadWrite.All",
	} {
		if got := names(mode); got != want {
			t.Errorf("%s: %q, want %q", mode, got, want)
		}
	}
}
