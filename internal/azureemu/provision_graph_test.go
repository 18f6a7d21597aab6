package azureemu

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestGraphProvisioning is setup's Graph half end to end: the app it
// creates gets tokens whose roles are exactly the grants, and can read
// Graph security incidents with them.
func TestGraphProvisioning(t *testing.T) {
	v := provEnv(t)
	graphTok, _ := v.adminTokens(t, adminUPN)
	p := v.provision(t, graphTok, "lastmile-sentinel-connector", roleIncidentRead)

	// Idempotency lookups.
	st, list := v.call(t, http.MethodGet, graphAPI+"/applications?$filter=displayName+eq+'LASTMILE-sentinel-connector'&$select=id,appId", graphTok, nil)
	if st != 200 || len(list["value"].([]any)) != 1 {
		t.Fatalf("filter by name: %d %v", st, list)
	}
	if got := list["value"].([]any)[0].(map[string]any); got["appId"] != p.appID || got["displayName"] != nil {
		t.Fatalf("$select: %v", got)
	}
	if st, app := v.call(t, http.MethodGet, graphAPI+"/applications(appId='"+p.appID+"')", graphTok, nil); st != 200 || app["id"] != p.objectID ||
		len(app["passwordCredentials"].([]any)) != 1 || app["passwordCredentials"].([]any)[0].(map[string]any)["secretText"] != nil {
		t.Fatalf("by appId: %d %v", st, app)
	}
	if st, sps := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals?$filter=appId eq '"+p.appID+"'", graphTok, nil); st != 200 ||
		len(sps["value"].([]any)) != 1 || sps["value"].([]any)[0].(map[string]any)["id"] != p.spID {
		t.Fatalf("SP by appId: %d %v", st, sps)
	}
	graphSP := v.graphSPID(t, graphTok)
	_, gsp := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals/"+graphSP, graphTok, nil)
	var roleIDs []string
	for _, r := range gsp["appRoles"].([]any) {
		roleIDs = append(roleIDs, r.(map[string]any)["id"].(string))
	}
	if !slices.Contains(roleIDs, roleIncidentRead) || !slices.Contains(roleIDs, "ed4fca05-be46-441f-9803-1873825f8fdb") {
		t.Fatalf("Graph SP app roles: %v", roleIDs)
	}
	if st, si := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals(appId='98785600-1bb7-4fb9-b9fa-19afe2c8a360')?$select=id", graphTok, nil); st != 200 || si["id"] == nil {
		t.Fatalf("Azure Security Insights SP: %d %v", st, si)
	}

	// Consent shows in the app's token and lets it read incidents.
	st, tr := v.appToken(t, p, graphScope)
	if st != 200 {
		t.Fatalf("client credentials with the new secret: %d %v", st, tr)
	}
	appTok := tr["access_token"].(string)
	if roles := claims(t, appTok)["roles"]; len(roles.([]any)) != 1 || roles.([]any)[0] != "SecurityIncident.Read.All" {
		t.Fatalf("roles claim %v", roles)
	}
	if st, body := v.call(t, http.MethodGet, graphAPI+"/security/incidents", appTok, nil); st != 200 {
		t.Fatalf("incidents with the provisioned app: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodGet, graphAPI+"/security/alerts_v2", appTok, nil); st != 403 {
		t.Fatalf("alerts without that grant: %d %v", st, body)
	}

	// A second grant of the same role is refused; another role is added.
	grant := func(role string) (int, map[string]any) {
		return v.call(t, http.MethodPost, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo", graphTok,
			map[string]any{"principalId": p.spID, "resourceId": graphSP, "appRoleId": role})
	}
	if st, body := grant(roleIncidentRead); st != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "Permission being assigned already exists on the object") {
		t.Fatalf("duplicate grant: %d %v", st, body)
	}
	if st, body := grant("00000000-0000-0000-0000-0000000000aa"); st != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "was not found on application") {
		t.Fatalf("unknown role: %d %v", st, body)
	}
	st, g := grant(roleAlertRead)
	if st != 201 || g["principalId"] != p.spID || g["resourceDisplayName"] != "Microsoft Graph" || len(g["id"].(string)) != 43 {
		t.Fatalf("second grant: %d %v", st, g)
	}
	_, assigned := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo", graphTok, nil)
	if len(assigned["value"].([]any)) != 2 {
		t.Fatalf("appRoleAssignedTo list: %v", assigned)
	}
	if grants := v.emu.AppRoleGrants(testTenant); len(grants) != 2 || grants[1].Permission != "SecurityAlert.Read.All" {
		t.Fatalf("AppRoleGrants %+v", grants)
	}
	// Revoking takes the role out of the next token.
	if st, body := v.call(t, http.MethodDelete, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo/"+g["id"].(string), graphTok, nil); st != 204 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	_, tr = v.appToken(t, p, graphScope)
	if roles := claims(t, tr["access_token"].(string))["roles"].([]any); len(roles) != 1 {
		t.Fatalf("roles after revoke: %v", roles)
	}
	// SetGraphRoles and Graph agree.
	if err := v.emu.SetGraphRoles(testTenant, p.appID, nil); err != nil {
		t.Fatal(err)
	}
	if _, l := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals/"+p.spID+"/appRoleAssignments", graphTok, nil); len(l["value"].([]any)) != 0 {
		t.Fatalf("grants after SetGraphRoles(nil): %v", l)
	}
}

func TestGraphPermissionsAndRoles(t *testing.T) {
	v := provEnv(t)
	v.user(t, "appadmin@contoso.com", "Application Administrator")
	v.user(t, "pra@contoso.com", "Privileged Role Administrator")
	v.user(t, "member@contoso.com")
	adminGraph, _ := v.adminTokens(t, adminUPN)
	p := v.provision(t, adminGraph, "connector")
	graphSP := v.graphSPID(t, adminGraph)
	grantBody := map[string]any{"principalId": p.spID, "resourceId": graphSP, "appRoleId": roleIncidentRead}
	grantPath := graphAPI + "/servicePrincipals/" + graphSP + "/appRoleAssignedTo"

	appAdmin, _ := v.adminTokens(t, "appadmin@contoso.com")
	st, body := v.call(t, http.MethodPost, grantPath, appAdmin, grantBody)
	if code, _ := errOf(body); st != 403 || code != "Authorization_RequestDenied" {
		t.Fatalf("Application Administrator granting a Graph app role: %d %v", st, body)
	}
	// An application administrator may manage any app, though.
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+p.objectID, appAdmin, map[string]any{"notes": "managed"}); st != 204 {
		t.Fatalf("Application Administrator PATCH: %d %v", st, body)
	}
	pra, _ := v.adminTokens(t, "pra@contoso.com")
	if st, body := v.call(t, http.MethodPost, grantPath, pra, grantBody); st != 201 {
		t.Fatalf("Privileged Role Administrator grant: %d %v", st, body)
	}

	// A plain member may register an app (the default), but not change
	// someone else's.
	member, _ := v.adminTokens(t, "member@contoso.com")
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+p.objectID, member, map[string]any{"notes": "x"}); st != 403 {
		t.Fatalf("member PATCH of another's app: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications", member, map[string]any{"displayName": "mine"}); st != 201 {
		t.Fatalf("member creates an app: %d %v", st, body)
	}

	// Without the scopes (Graph CLI tools, .default = User.Read only).
	weak := v.deviceTokens(t, graphCLIClientID, adminUPN, graphScope)["access_token"].(string)
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications", weak, map[string]any{"displayName": "x"}); st != 403 {
		t.Fatalf("create without Application.ReadWrite.All: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodGet, graphAPI+"/applications", weak, nil); st != 403 {
		t.Fatalf("list without Application.Read.All: %d %v", st, body)
	}
	// Dynamic consent to exactly what setup needs works.
	scoped := v.deviceTokens(t, graphCLIClientID, adminUPN,
		"https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All")["access_token"].(string)
	if st, body := v.call(t, http.MethodGet, graphAPI+"/applications", scoped, nil); st != 200 {
		t.Fatalf("list with dynamic scopes: %d %v", st, body)
	}

	// App-only callers need Application.ReadWrite.All.
	v.app(t, "automation", App{GraphRoles: []string{"SecurityIncident.Read.All"}})
	auto := v.token(t, "automation", graphScope)
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications", auto, map[string]any{"displayName": "x"}); st != 403 {
		t.Fatalf("app-only create without the role: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodGet, graphAPI+"/me", auto, nil); st != 400 {
		t.Fatalf("/me app-only: %d %v", st, body)
	}
}

func TestGraphValidation(t *testing.T) {
	v := provEnv(t)
	tok, _ := v.adminTokens(t, adminUPN)
	cases := []struct {
		name string
		body any
		code string
	}{
		{"no displayName", map[string]any{"signInAudience": "AzureADMyOrg"}, "Request_BadRequest"},
		{"empty displayName", map[string]any{"displayName": " "}, "Request_BadRequest"},
		{"secret at creation", map[string]any{"displayName": "x", "passwordCredentials": []any{map[string]any{"displayName": "s"}}}, "Request_BadRequest"},
		{"read-only appId", map[string]any{"displayName": "x", "appId": "11111111-1111-1111-1111-111111111111"}, "Request_BadRequest"},
		{"unknown property", map[string]any{"displayName": "x", "colour": "blue"}, "BadRequest"},
		{"bad audience", map[string]any{"displayName": "x", "signInAudience": "Everyone"}, "Request_BadRequest"},
		{"wrong Graph role id", map[string]any{"displayName": "x", "requiredResourceAccess": []any{map[string]any{
			"resourceAppId": graphSPApp, "resourceAccess": []any{map[string]any{"id": "ed4fca05-be46-441f-9803-1873825f1f7f", "type": "Role"}}}}}, "Request_BadRequest"},
		{"bad access type", map[string]any{"displayName": "x", "requiredResourceAccess": []any{map[string]any{
			"resourceAppId": graphSPApp, "resourceAccess": []any{map[string]any{"id": roleIncidentRead, "type": "Application"}}}}}, "Request_BadRequest"},
		{"not JSON", "{", "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.call(t, http.MethodPost, graphAPI+"/applications", tok, tc.body)
			if code, _ := errOf(body); st != 400 || code != tc.code {
				t.Fatalf("got %d %v", st, body)
			}
		})
	}
	if n := len(v.emu.Applications(testTenant)); n != 0 {
		t.Fatalf("%d apps created by refused requests", n)
	}

	st, app := v.call(t, http.MethodPost, graphAPI+"/applications", tok, map[string]any{"displayName": "svc", "tags": []string{"lastmile"}})
	if st != 201 || app["tags"].([]any)[0] != "lastmile" {
		t.Fatalf("create: %d %v", st, app)
	}
	id := app["id"].(string)
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+id, tok, map[string]any{"displayName": ""}); st != 400 {
		t.Fatalf("PATCH empty name: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+id, tok, map[string]any{"displayName": "svc2", "isFallbackPublicClient": true}); st != 204 || body != nil {
		t.Fatalf("PATCH: %d %v", st, body)
	}
	if a := v.emu.Applications(testTenant)[0]; a.DisplayName != "svc2" || !a.PublicClient || len(a.Owners) != 1 {
		t.Fatalf("after PATCH: %+v", a)
	}
	if st, _ := v.call(t, http.MethodGet, graphAPI+"/applications/00000000-0000-0000-0000-000000000000", tok, nil); st != 404 {
		t.Fatalf("unknown app: %d", st)
	}
	st, _ = v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", tok, map[string]any{"appId": app["appId"]})
	if st != 201 {
		t.Fatalf("SP: %d", st)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", tok, map[string]any{"appId": app["appId"]}); st != 409 {
		t.Fatalf("second SP: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", tok, map[string]any{"appId": "11111111-2222-3333-4444-555555555555"}); st != 400 ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "does not reference a valid application object") {
		t.Fatalf("SP without app: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodDelete, graphAPI+"/servicePrincipals/"+v.graphSPID(t, tok), tok, nil); st != 403 {
		t.Fatalf("deleting Microsoft Graph's SP: %d %v", st, body)
	}
}

func TestGraphSecretsAndDelete(t *testing.T) {
	v := provEnv(t)
	tok, armTok := v.adminTokens(t, adminUPN)
	p := v.provision(t, tok, "connector", roleIncidentRead)
	if st, body := v.assign(t, armTok, wsPath(), "6f1c2a7e-0000-4000-8000-000000000001", responderRole, p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("assign: %d %v", st, body)
	}

	// A new secret replaces the old one at the token endpoint; removing it
	// stops it working.
	st, pw := v.call(t, http.MethodPost, graphAPI+"/applications(appId='"+p.appID+"')/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "rotated", "endDateTime": v.clk.Now().Add(24 * time.Hour).Format(time.RFC3339)}})
	if st != 200 || len(pw["secretText"].(string)) != 40 || pw["hint"] != pw["secretText"].(string)[:3] {
		t.Fatalf("addPassword: %d %v", st, pw)
	}
	newer := p
	newer.secret = pw["secretText"].(string)
	if st, body := v.appToken(t, newer, armScope); st != 200 {
		t.Fatalf("new secret: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications/"+p.objectID+"/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"endDateTime": "2000-01-01T00:00:00Z"}}); st != 400 {
		t.Fatalf("end before start: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications/"+p.objectID+"/removePassword", tok, map[string]any{"keyId": pw["keyId"]}); st != 204 {
		t.Fatalf("removePassword: %d %v", st, body)
	}
	if st, body := v.appToken(t, newer, armScope); st != 401 {
		t.Fatalf("removed secret still works: %d %v", st, body)
	}
	st, tr := v.appToken(t, p, armScope)
	if st != 200 {
		t.Fatalf("remaining secret: %d %v", st, tr)
	}
	appARM := tr["access_token"].(string)
	if st, _ := v.call(t, http.MethodGet, incidentsPath()+apiV, appARM, nil); st != 200 {
		t.Fatalf("incidents before delete: %d", st)
	}

	// Deleting the app takes its SP, grants and sign-in with it.
	if st, body := v.call(t, http.MethodDelete, graphAPI+"/applications/"+p.objectID, tok, nil); st != 204 {
		t.Fatalf("delete: %d %v", st, body)
	}
	if st, _ := v.call(t, http.MethodGet, graphAPI+"/servicePrincipals/"+p.spID, tok, nil); st != 404 {
		t.Fatalf("SP after app delete: %d", st)
	}
	if st, body := v.appToken(t, p, armScope); st != 400 || !strings.Contains(body["error_description"].(string), "AADSTS700016") {
		t.Fatalf("token after delete: %d %v", st, body)
	}
	if st, _ := v.call(t, http.MethodGet, incidentsPath()+apiV, appARM, nil); st != 403 {
		t.Fatalf("a token issued before delete still reads incidents: %d", st)
	}
	if len(v.emu.Applications(testTenant)) != 0 || len(v.emu.AppRoleGrants(testTenant)) != 0 {
		t.Fatal("app or grants left after delete")
	}
	// ARM keeps the orphaned assignment, as Azure does ("Identity not found").
	if len(v.emu.RoleAssignments()) != 2 {
		t.Fatalf("role assignments %+v", v.emu.RoleAssignments())
	}
}

func TestGraphReplicationLag(t *testing.T) {
	v := provEnv(t)
	tok, armTok := v.adminTokens(t, adminUPN)
	v.emu.SetReplicationLag(30 * time.Second)
	_, app := v.call(t, http.MethodPost, graphAPI+"/applications", tok, map[string]any{"displayName": "lagging"})
	st, body := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", tok, map[string]any{"appId": app["appId"]})
	details, _ := body["error"].(map[string]any)["details"].([]any)
	if st != 400 || len(details) != 1 || details[0].(map[string]any)["code"] != "NoBackingApplicationObject" {
		t.Fatalf("SP for a young app: %d %v", st, body)
	}
	v.clk.Advance(31 * time.Second)
	st, sp := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals", tok, map[string]any{"appId": app["appId"]})
	if st != 201 {
		t.Fatalf("SP after replication: %d %v", st, sp)
	}
	graphSP := v.graphSPID(t, tok)
	grant := map[string]any{"principalId": sp["id"], "resourceId": graphSP, "appRoleId": roleIncidentRead}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo", tok, grant); st != 404 {
		t.Fatalf("grant to a young SP: %d %v", st, body)
	}
	spID := sp["id"].(string)
	if st, body := v.assign(t, armTok, wsPath(), "6f1c2a7e-0000-4000-8000-000000000002", responderRole, spID, ""); st != 400 {
		t.Fatalf("ARM assignment to a young SP without principalType: %d %v", st, body)
	} else if code, _ := errOf(body); code != "PrincipalNotFound" {
		t.Fatalf("code %s", code)
	}
	if st, body := v.assign(t, armTok, wsPath(), "6f1c2a7e-0000-4000-8000-000000000002", responderRole, spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("with principalType: %d %v", st, body)
	}
	v.clk.Advance(31 * time.Second)
	if st, body := v.call(t, http.MethodPost, graphAPI+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo", tok, grant); st != 201 {
		t.Fatalf("grant after replication: %d %v", st, body)
	}
}

// TestGraphCertificate uploads a certificate with PATCH keyCredentials
// (the first one cannot use addKey), signs in with it through the Azure
// SDK, then adds a second with addKey and a proof of possession.
func TestGraphCertificate(t *testing.T) {
	v := provEnv(t)
	tok, _ := v.adminTokens(t, adminUPN)
	p := v.provision(t, tok, "cert-connector", roleIncidentRead)
	certPEM, keyPEM := selfSignedRSA(t)
	block, _ := pem.Decode(certPEM)
	key := base64.StdEncoding.EncodeToString(block.Bytes)

	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+p.objectID, tok, map[string]any{"keyCredentials": []any{
		map[string]any{"type": "AsymmetricX509Cert", "usage": "Sign", "key": key}}}); st != 400 {
		t.Fatalf("usage Sign: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+p.objectID, tok, map[string]any{"keyCredentials": []any{
		map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString([]byte("junk"))}}}); st != 400 {
		t.Fatalf("junk certificate: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPatch, graphAPI+"/applications/"+p.objectID, tok, map[string]any{"keyCredentials": []any{
		map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": key, "displayName": "CN=lastmile"}}}); st != 204 {
		t.Fatalf("PATCH keyCredentials: %d %v", st, body)
	}
	_, app := v.call(t, http.MethodGet, graphAPI+"/applications/"+p.objectID, tok, nil)
	kcs := app["keyCredentials"].([]any)
	if len(kcs) != 1 || kcs[0].(map[string]any)["key"] != nil || kcs[0].(map[string]any)["displayName"] != "CN=lastmile" {
		t.Fatalf("keyCredentials %v", kcs)
	}
	firstKeyID := kcs[0].(map[string]any)["keyId"].(string)

	certs, priv, err := azidentity.ParseCertificates(append(append([]byte{}, certPEM...), keyPEM...), nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientCertificateCredential(testTenant, p.appID, certs, priv,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: v.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	at, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphScope}})
	if err != nil {
		t.Fatalf("certificate sign-in: %v", err)
	}
	if st, _ := v.call(t, http.MethodGet, graphAPI+"/security/incidents", at.Token, nil); st != 200 {
		t.Fatalf("incidents with certificate token: %d", st)
	}

	// addKey: the app itself, proving possession of its current key.
	cert2, _ := selfSignedRSA(t)
	b2, _ := pem.Decode(cert2)
	rsaKey := priv.(*rsa.PrivateKey)
	now := v.clk.Now()
	proof := func(aud string, nbf, exp time.Time) string {
		hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
		cl, _ := json.Marshal(map[string]any{"aud": aud, "iss": p.objectID, "nbf": nbf.Unix(), "exp": exp.Unix()})
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(cl)
		sum := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return signing + "." + enc.EncodeToString(sig)
	}
	_, self := v.appToken(t, p, graphScope)
	selfTok := self["access_token"].(string)
	addKey := func(pr string) (int, map[string]any) {
		return v.call(t, http.MethodPost, graphAPI+"/applications/"+p.objectID+"/addKey", selfTok, map[string]any{
			"keyCredential":      map[string]any{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString(b2.Bytes)},
			"passwordCredential": nil, "proof": pr})
	}
	if st, body := addKey(proof("wrong-audience", now, now.Add(5*time.Minute))); st != 400 {
		t.Fatalf("proof with a wrong audience: %d %v", st, body)
	}
	if st, body := addKey(proof(proofAudience, now, now.Add(time.Hour))); st != 400 {
		t.Fatalf("proof living an hour: %d %v", st, body)
	}
	st, added := addKey(proof(proofAudience, now, now.Add(10*time.Minute)))
	if st != 200 || added["keyId"] == nil {
		t.Fatalf("addKey: %d %v", st, added)
	}
	if st, body := v.call(t, http.MethodPost, graphAPI+"/applications/"+p.objectID+"/removeKey", selfTok,
		map[string]any{"keyId": firstKeyID, "proof": proof(proofAudience, now, now.Add(10*time.Minute))}); st != 204 {
		t.Fatalf("removeKey: %d %v", st, body)
	}
	if certsLeft := v.emu.Applications(testTenant)[0].Certificates; len(certsLeft) != 1 {
		t.Fatalf("certificates after rotation: %+v", certsLeft)
	} else if c2, _ := x509.ParseCertificate(b2.Bytes); certsLeft[0].Thumbprint != thumbprint(c2) {
		t.Fatalf("kept the wrong certificate: %+v", certsLeft)
	}
}
