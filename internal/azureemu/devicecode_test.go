package azureemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestDeviceCodeFlow(t *testing.T) {
	v := newEnv(t)
	admin := v.user(t, adminUPN, "Global Administrator")
	scope := graphScope + " offline_access openid profile"
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {azureCLIClientID}, "scope": {scope}})
	if resp.StatusCode != 200 {
		t.Fatalf("devicecode: %d %s", resp.StatusCode, body)
	}
	dc := jsonMap(t, body)
	userCode, _ := dc["user_code"].(string)
	if len(userCode) != 9 || dc["expires_in"] != float64(900) || dc["interval"] != float64(5) ||
		!strings.HasSuffix(dc["verification_uri"].(string), "/devicelogin") || !strings.Contains(dc["message"].(string), userCode) {
		t.Fatalf("devicecode answer %s", body)
	}
	poll := func(grant string) (int, map[string]any) {
		resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
			"grant_type": {grant}, "client_id": {azureCLIClientID}, "device_code": {dc["device_code"].(string)}})
		return resp.StatusCode, jsonMap(t, body)
	}
	if st, m := poll(deviceURN); st != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("first poll: %d %v", st, m)
	}
	if st, m := poll(deviceURN); st != 400 || m["error"] != "slow_down" {
		t.Fatalf("poll within the interval: %d %v", st, m)
	}
	v.clk.Advance(5 * time.Second)
	if st, m := poll("device_code"); st != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("poll after the interval (MSAL's short grant name): %d %v", st, m)
	}
	if got := v.emu.PendingDeviceCodes(); len(got) != 1 || got[0].UserCode != userCode || got[0].ClientID != azureCLIClientID {
		t.Fatalf("pending codes: %+v", got)
	}
	if err := v.emu.ApproveDeviceCode(strings.ToLower(userCode[:4]+"-"+userCode[4:]), "nobody@contoso.com"); err == nil {
		t.Fatal("approving as an unknown user worked")
	}
	if err := v.emu.ApproveDeviceCode(strings.ToLower(userCode[:4]+"-"+userCode[4:]), adminUPN); err != nil {
		t.Fatal(err)
	}
	st, tr := poll(deviceURN)
	if st != 200 {
		t.Fatalf("approved poll: %d %v", st, tr)
	}
	if tr["scope"] != scope || tr["refresh_token"] == nil || tr["id_token"] == nil || tr["token_type"] != "Bearer" {
		t.Fatalf("token answer %v", tr)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(tr["client_info"].(string))
	var info map[string]string
	if json.Unmarshal(ci, &info) != nil || info["uid"] != admin.ObjectID || info["utid"] != testTenant {
		t.Fatalf("client_info %s", ci)
	}
	at := claims(t, tr["access_token"].(string))
	scp := strings.Fields(at["scp"].(string))
	wids, _ := at["wids"].([]any)
	if at["aud"] != "https://graph.microsoft.com" || at["oid"] != admin.ObjectID || at["tid"] != testTenant || at["upn"] != adminUPN ||
		!slices.Contains(scp, "Application.ReadWrite.All") || !slices.Contains(scp, "AppRoleAssignment.ReadWrite.All") ||
		!slices.Contains(wids, any("62e90394-69f5-4237-9190-012177145e10")) || at["appid"] != azureCLIClientID {
		t.Fatalf("access token claims %v", at)
	}
	if id := claims(t, tr["id_token"].(string)); id["preferred_username"] != adminUPN || id["aud"] != azureCLIClientID {
		t.Fatalf("id token claims %v", id)
	}
	if st, m := poll(deviceURN); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", st, m)
	}
	if len(v.emu.PendingDeviceCodes()) != 0 {
		t.Fatal("redeemed code still pending")
	}

	// One sign-in, two resources: the refresh token gets the ARM token.
	refresh := func(client, scope string) (int, map[string]any) {
		resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {tr["refresh_token"].(string)}, "scope": {scope}})
		return resp.StatusCode, jsonMap(t, body)
	}
	st, ar := refresh(azureCLIClientID, armScope+" offline_access")
	if st != 200 || ar["refresh_token"] == nil {
		t.Fatalf("refresh for ARM: %d %v", st, ar)
	}
	if c := claims(t, ar["access_token"].(string)); c["aud"] != "https://management.core.windows.net/" || c["scp"] != "user_impersonation" || c["oid"] != admin.ObjectID {
		t.Fatalf("ARM token claims %v", c)
	}
	if st, m := refresh(graphCLIClientID, armScope); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("refresh by another client: %d %v", st, m)
	}
	if st, m := refresh(azureCLIClientID, "https://management.azure.com/Foo.Bar"); st != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("unknown ARM scope: %d %v", st, m)
	}
	v.clk.Advance(91 * 24 * time.Hour)
	if st, m := refresh(azureCLIClientID, armScope); st != 400 || m["error"] != "invalid_grant" || !strings.Contains(m["error_description"].(string), "AADSTS700082") {
		t.Fatalf("refresh after 91 idle days: %d %v", st, m)
	}
}

func TestDeviceCodeErrors(t *testing.T) {
	v := newEnv(t)
	v.user(t, adminUPN)
	v.app(t, "confidential-app", App{})
	request := func(tenant, client, scope string) (int, map[string]any) {
		resp, body := v.form(t, "/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {client}, "scope": {scope}})
		return resp.StatusCode, jsonMap(t, body)
	}
	aadsts := func(m map[string]any) string {
		s, _ := m["error_description"].(string)
		code, _, _ := strings.Cut(s, ":")
		return code
	}
	cases := []struct {
		name, tenant, client, scope string
		err, code                   string
	}{
		{"unknown client", testTenant, "00000000-0000-0000-0000-00000000abcd", graphScope, "unauthorized_client", "AADSTS700016"},
		{"unknown tenant", "00000000-0000-0000-0000-000000000001", azureCLIClientID, graphScope, "invalid_request", "AADSTS90002"},
		{"no scope", testTenant, azureCLIClientID, "", "invalid_request", "AADSTS900144"},
		{"two resources", testTenant, azureCLIClientID, graphScope + " " + armScope, "invalid_scope", "AADSTS28000"},
		{"CLI named Graph scope", testTenant, azureCLIClientID, "https://graph.microsoft.com/Application.ReadWrite.All", "invalid_client", "AADSTS65002"},
		{".default with a named scope", testTenant, graphCLIClientID, graphScope + " https://graph.microsoft.com/User.Read", "invalid_scope", "AADSTS70011"},
		{"unknown resource", testTenant, azureCLIClientID, "https://vault.example/.default", "invalid_resource", "AADSTS500011"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, m := request(tc.tenant, tc.client, tc.scope)
			if st != 400 || m["error"] != tc.err || aadsts(m) != tc.code {
				t.Fatalf("got %d %v", st, m)
			}
		})
	}

	token := func(client, code string) (int, map[string]any) {
		resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {deviceURN}, "client_id": {client}, "device_code": {code}})
		return resp.StatusCode, jsonMap(t, body)
	}
	start := func(client string) (string, string) {
		st, m := request(testTenant, client, graphScope)
		if st != 200 {
			t.Fatalf("devicecode for %s: %d %v", client, st, m)
		}
		return m["user_code"].(string), m["device_code"].(string)
	}

	if st, m := token(azureCLIClientID, "not-a-code"); st != 400 || m["error"] != "bad_verification_code" {
		t.Fatalf("unknown device code: %d %v", st, m)
	}
	user, code := start(azureCLIClientID)
	if st, m := token(graphCLIClientID, code); st != 400 || m["error"] != "bad_verification_code" {
		t.Fatalf("code polled by another client: %d %v", st, m)
	}
	if err := v.emu.DeclineDeviceCode(user); err != nil {
		t.Fatal(err)
	}
	if st, m := token(azureCLIClientID, code); st != 400 || m["error"] != "authorization_declined" {
		t.Fatalf("declined: %d %v", st, m)
	}

	_, code = start(azureCLIClientID)
	v.clk.Advance(15 * time.Minute)
	if st, m := token(azureCLIClientID, code); st != 400 || m["error"] != "expired_token" {
		t.Fatalf("expired: %d %v", st, m)
	}

	// A confidential app cannot redeem a device code without a secret.
	user, code = start("confidential-app")
	if err := v.emu.ApproveDeviceCode(user, adminUPN); err != nil {
		t.Fatal(err)
	}
	if st, m := token("confidential-app", code); st != 401 || m["error"] != "invalid_client" || aadsts(m) != "AADSTS7000218" {
		t.Fatalf("confidential client: %d %v", st, m)
	}
}

func TestDeviceCodeAutoApproveAndPage(t *testing.T) {
	v := newEnv(t)
	bob := v.user(t, "bob@contoso.com")
	v.user(t, adminUPN)

	v.emu.SetAutoApprove(adminUPN)
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {azureCLIClientID}, "scope": {graphScope}})
	dc := jsonMap(t, body)
	resp, body = v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {deviceURN}, "client_id": {azureCLIClientID}, "device_code": {dc["device_code"].(string)}})
	if resp.StatusCode != 200 || claims(t, jsonMap(t, body)["access_token"].(string))["upn"] != adminUPN {
		t.Fatalf("auto-approved first poll: %d %s", resp.StatusCode, body)
	}
	if err := v.emu.ApproveDeviceCode(dc["user_code"].(string), adminUPN); err == nil {
		t.Fatal("an auto-approved code could be approved again")
	}
	v.emu.SetAutoApprove("")

	// The verification page lists the tenant's users; clicking one signs in.
	_, body = v.form(t, "/"+testTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {azureCLIClientID}, "scope": {armScope}})
	dc = jsonMap(t, body)
	page := strings.TrimPrefix(dc["verification_uri"].(string), v.emu.URL())
	resp, body = v.do(t, http.MethodGet, page, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "bob@contoso.com") || !strings.Contains(string(body), adminUPN) {
		t.Fatalf("verification page: %d %s", resp.StatusCode, body)
	}
	resp, body = v.form(t, page, url.Values{"user_code": {"WRONGCODE"}, "login": {bob.ObjectID}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "no device code") {
		t.Fatalf("wrong code on the page: %d %s", resp.StatusCode, body)
	}
	resp, body = v.form(t, page, url.Values{"user_code": {dc["user_code"].(string)}, "login": {bob.ObjectID}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), "signed in") {
		t.Fatalf("approve on the page: %d %s", resp.StatusCode, body)
	}
	resp, body = v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {deviceURN}, "client_id": {azureCLIClientID}, "device_code": {dc["device_code"].(string)}})
	if resp.StatusCode != 200 {
		t.Fatalf("token after page approval: %d %s", resp.StatusCode, body)
	}
	if c := claims(t, jsonMap(t, body)["access_token"].(string)); c["oid"] != bob.ObjectID || c["aud"] != "https://management.core.windows.net/" {
		t.Fatalf("claims %v", c)
	}
}

func TestDeviceCodeOrganizations(t *testing.T) {
	v := newEnv(t)
	u := v.user(t, adminUPN)
	resp, body := v.form(t, "/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {azureCLIClientID}, "scope": {graphScope}})
	if resp.StatusCode != 200 {
		t.Fatalf("devicecode: %d %s", resp.StatusCode, body)
	}
	dc := jsonMap(t, body)
	if err := v.emu.ApproveDeviceCode(dc["user_code"].(string), adminUPN); err != nil {
		t.Fatal(err)
	}
	resp, body = v.form(t, "/organizations/oauth2/v2.0/token", url.Values{"grant_type": {deviceURN}, "client_id": {azureCLIClientID}, "device_code": {dc["device_code"].(string)}})
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	if c := claims(t, jsonMap(t, body)["access_token"].(string)); c["tid"] != testTenant || c["oid"] != u.ObjectID {
		t.Fatalf("the user's home tenant should issue: %v", c)
	}
}

// TestAzidentityDeviceCode signs in with the Azure SDK's own device code
// credential, then gets an ARM token silently (MSAL's refresh token).
func TestAzidentityDeviceCode(t *testing.T) {
	v := provEnv(t)
	ctx := context.Background()
	var prompts int
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: v.clientOptions(), TenantID: testTenant, DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			prompts++
			if !strings.Contains(m.Message, m.UserCode) {
				t.Errorf("message %q lacks the code", m.Message)
			}
			return v.emu.ApproveDeviceCode(m.UserCode, adminUPN)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
	if err != nil {
		t.Fatalf("graph token: %v", err)
	}
	if st, me := v.call(t, http.MethodGet, graphAPI+"/me", g.Token, nil); st != 200 || me["userPrincipalName"] != adminUPN {
		t.Fatalf("/me: %d %v", st, me)
	}
	a, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		t.Fatalf("ARM token: %v", err)
	}
	if prompts != 1 {
		t.Fatalf("signed in %d times, want once", prompts)
	}
	if st, subs := v.call(t, http.MethodGet, "/subscriptions?api-version=2022-12-01", a.Token, nil); st != 200 || len(subs["value"].([]any)) != 1 {
		t.Fatalf("subscriptions with the SDK's ARM token: %d %v", st, subs)
	}
}
