package azureemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	adminUPN   = "ada@contoso.com"
	deviceURN  = "urn:ietf:params:oauth:grant-type:device_code"
	graphAPI   = "/v1.0"
	subScope   = "/subscriptions/" + testSub
	rbacAPI    = "?api-version=2022-04-01"
	graphSPApp = "00000003-0000-0000-c000-000000000000"
	// Graph application permission ids (reference §2.7).
	roleIncidentRead = "45cc0394-e837-488b-a098-1918f48d186c"
	roleAlertRead    = "472e4a4d-bb4a-4026-98d1-0b0d74cb74a5"
	// Built-in Azure role ids (reference §3.6).
	responderRole = "3e150937-b8fe-4cfb-8069-0eaf05ecd056"
	publisherRole = "3913510d-42f4-4e42-8a64-420c390055eb"
)

// provEnv is newEnv plus an admin who can run setup: Global
// Administrator in Entra and Owner on the subscription.
func provEnv(t *testing.T) *env {
	t.Helper()
	v := newEnv(t)
	v.user(t, adminUPN, "Global Administrator")
	if err := v.emu.GrantUserARMRole(testTenant, adminUPN, subScope, "Owner"); err != nil {
		t.Fatal(err)
	}
	return v
}

// user adds a user with directory roles.
func (v *env) user(t *testing.T, upn string, roles ...string) User {
	t.Helper()
	u, err := v.emu.AddUser(testTenant, User{UPN: upn, Email: upn, Name: strings.Split(upn, "@")[0]})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.emu.SetDirectoryRoles(testTenant, upn, roles...); err != nil {
		t.Fatal(err)
	}
	return u
}

// deviceTokens signs login in with the device code flow and returns the
// token response.
func (v *env) deviceTokens(t *testing.T, clientID, login, scope string) map[string]any {
	t.Helper()
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("devicecode: %d %s", resp.StatusCode, body)
	}
	dc := jsonMap(t, body)
	if err := v.emu.ApproveDeviceCode(dc["user_code"].(string), login); err != nil {
		t.Fatal(err)
	}
	resp, body = v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {deviceURN}, "client_id": {clientID}, "device_code": {dc["device_code"].(string)}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device token: %d %s", resp.StatusCode, body)
	}
	return jsonMap(t, body)
}

// adminTokens returns Graph and ARM tokens for a user the way setup gets
// them: one device code sign-in with the Azure CLI's client id for Graph,
// then the refresh token for ARM.
func (v *env) adminTokens(t *testing.T, login string) (graph, arm string) {
	t.Helper()
	tr := v.deviceTokens(t, azureCLIClientID, login, graphScope+" offline_access openid profile")
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {azureCLIClientID},
		"refresh_token": {tr["refresh_token"].(string)}, "scope": {armScope + " offline_access"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh for ARM: %d %s", resp.StatusCode, body)
	}
	return tr["access_token"].(string), jsonMap(t, body)["access_token"].(string)
}

// claims decodes a JWT's payload (the emulator's own; no checks).
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// call sends a JSON request and decodes a JSON answer (nil when empty).
func (v *env) call(t *testing.T, method, path, tok string, body any) (int, map[string]any) {
	t.Helper()
	resp, b := v.do(t, method, path, tok, body)
	if len(b) == 0 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, jsonMap(t, b)
}

// provisioned is an app registration made through Graph.
type provisioned struct {
	objectID, appID, spID, secret string
}

// provision does what setup does in Graph: app, secret, service principal
// and grants of the given Graph app role ids.
func (v *env) provision(t *testing.T, graphTok, name string, appRoles ...string) provisioned {
	t.Helper()
	var access []any
	for _, r := range appRoles {
		access = append(access, map[string]any{"id": r, "type": "Role"})
	}
	st, app := v.call(t, http.MethodPost, graphAPI+"/applications", graphTok, map[string]any{
		"displayName": name, "signInAudience": "AzureADMyOrg",
		"requiredResourceAccess": []any{map[string]any{"resourceAppId": graphSPApp, "resourceAccess": access}},
	})
	if st != http.StatusCreated {
		t.Fatalf("create app: %d %v", st, app)
	}
	p := provisioned{objectID: app["id"].(string), appID: app["appId"].(string)}
	st, pw := v.call(t, http.MethodPost, graphAPI+"/applications/"+p.objectID+"/addPassword", graphTok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "lastmile"}})
	if st != http.StatusOK {
		t.Fatalf("addPassword: %d %v", st, pw)
	}
	p.secret = pw["secretText"].(string)
	st, sp := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", graphTok, map[string]any{"appId": p.appID})
	if st != http.StatusCreated {
		t.Fatalf("create SP: %d %v", st, sp)
	}
	p.spID = sp["id"].(string)
	graphSP := v.graphSPID(t, graphTok)
	for _, r := range appRoles {
		st, g := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo", graphTok,
			map[string]any{"principalId": p.spID, "resourceId": graphSP, "appRoleId": r})
		if st != http.StatusCreated {
			t.Fatalf("grant %s: %d %v", r, st, g)
		}
	}
	return p
}

// graphSPID looks up Microsoft Graph's service principal.
func (v *env) graphSPID(t *testing.T, graphTok string) string {
	t.Helper()
	st, sp := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals(appId='"+graphSPApp+"')?$select=id,appRoles", graphTok, nil)
	if st != http.StatusOK {
		t.Fatalf("Graph SP: %d %v", st, sp)
	}
	return sp["id"].(string)
}

// appToken gets a client-credentials token for a provisioned app.
func (v *env) appToken(t *testing.T, p provisioned, scope string) (int, map[string]any) {
	t.Helper()
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {p.appID}, "client_secret": {p.secret}, "scope": {scope}})
	return resp.StatusCode, jsonMap(t, body)
}

// assign PUTs an ARM role assignment.
func (v *env) assign(t *testing.T, tok, scope, name, roleID, principalID, principalType string) (int, map[string]any) {
	t.Helper()
	props := map[string]any{
		"roleDefinitionId": subScope + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
		"principalId":      principalID,
	}
	if principalType != "" {
		props["principalType"] = principalType
	}
	return v.call(t, http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+rbacAPI, tok,
		map[string]any{"properties": props})
}

func errOf(m map[string]any) (code, msg string) {
	e, _ := m["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}
