package azureemu

import (
	"net/http"
	"testing"
)

// Permissions removed while the app is in use take effect at once for
// ARM (checked on every call) and for Graph tokens issued afterwards.
func TestPermissionsRemovedAtRunTime(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "responder", armScope)
	list := wsPath() + "/providers/Microsoft.SecurityInsights/incidents?api-version=2025-09-01"
	if resp, body := v.do(t, http.MethodGet, list, tok, nil); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, body)
	}
	if err := v.emu.RevokeARMRole(testTenant, "responder", wsPath(), "microsoft sentinel responder"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := v.do(t, http.MethodGet, list, tok, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("after the role was removed: %d", resp.StatusCode)
	}
	if err := v.emu.RevokeARMRole(testTenant, "nobody", wsPath(), "x"); err == nil {
		t.Fatal("revoked from an unknown app")
	}

	v.app(t, "graph", App{GraphRoles: []string{"SecurityIncident.ReadWrite.All"}})
	if err := v.emu.SetGraphRoles(testTenant, "graph", nil); err != nil {
		t.Fatal(err)
	}
	gtok := v.token(t, "graph", graphScope)
	if resp, _ := v.do(t, http.MethodGet, "/v1.0/security/incidents", gtok, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a token issued after the consent was removed: %d", resp.StatusCode)
	}
}
