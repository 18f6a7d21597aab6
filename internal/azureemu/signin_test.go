package azureemu

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	webApp      = "web-app"
	webRedirect = "https://lastmile.example/login/oidc/callback"
	verifier    = "dBjftJeZ4CXP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
)

func challengeOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// signinEnv is an emulator with a web app registered for sign-in and a
// user, Ann.
func signinEnv(t *testing.T) (*env, User) {
	t.Helper()
	v := newEnv(t)
	v.app(t, webApp, App{DisplayName: "lastmile"})
	if err := v.emu.AddRedirectURIs(testTenant, webApp, webRedirect); err != nil {
		t.Fatal(err)
	}
	ann, err := v.emu.AddUser(testTenant, User{Email: "ann@contoso.com", Name: "Ann Example"})
	if err != nil {
		t.Fatal(err)
	}
	return v, ann
}

func authorizeQuery(mod func(url.Values)) url.Values {
	q := url.Values{
		"client_id": {webApp}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challengeOf(verifier)}, "code_challenge_method": {"S256"},
	}
	if mod != nil {
		mod(q)
	}
	return q
}

// reply is an answer to a browser.
type reply struct {
	resp *http.Response
	body string
}

// browse sends a request without following redirects.
func (v *env) browse(t *testing.T, req *http.Request) reply {
	t.Helper()
	cl := v.emu.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp, string(b)}
}

func (v *env) authorize(t *testing.T, q url.Values) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, v.emu.URL()+"/"+testTenant+"/oauth2/v2.0/authorize?"+q.Encode(), nil)
	return v.browse(t, req)
}

// redirectParams checks the answer sends the browser back to the web app
// and returns the parameters it carries.
func redirectParams(t *testing.T, r reply) url.Values {
	t.Helper()
	resp, body := r.resp, r.body
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want a redirect: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), webRedirect+"?") {
		t.Fatalf("redirected to %q, want the app's redirect URI", resp.Header.Get("Location"))
	}
	return loc.Query()
}

// code gets an authorization code for the signed-in user.
func (v *env) code(t *testing.T) string {
	t.Helper()
	p := redirectParams(t, v.authorize(t, authorizeQuery(nil)))
	if p.Get("code") == "" || p.Get("state") != "st-1" {
		t.Fatalf("redirect params %v, want a code and state st-1", p)
	}
	return p.Get("code")
}

func redeemForm(code string, mod func(url.Values)) url.Values {
	f := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {webApp}, "client_secret": {"secret-" + webApp},
		"code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {verifier},
	}
	if mod != nil {
		mod(f)
	}
	return f
}

func (v *env) redeem(t *testing.T, f url.Values) (int, map[string]any) {
	t.Helper()
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", f)
	return resp.StatusCode, jsonMap(t, body)
}

// idClaims checks the ID token's signature against the published JWKS and
// returns its claims.
func (v *env) idClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	resp, body := v.do(t, http.MethodGet, "/"+testTenant+"/v2.0/.well-known/openid-configuration", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	disc := jsonMap(t, body)
	if disc["authorization_endpoint"] != v.emu.URL()+"/"+testTenant+"/oauth2/v2.0/authorize" {
		t.Fatalf("authorization_endpoint %v", disc["authorization_endpoint"])
	}
	_, body = v.do(t, http.MethodGet, disc["jwks_uri"].(string), "", nil)
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks %s: %v", body, err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("id token %q is not a JWS", tok)
	}
	var hdr struct{ Alg, Kid string }
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(h, &hdr)
	if hdr.Alg != "RS256" || hdr.Kid != set.Keys[0].Kid {
		t.Fatalf("id token header %+v, want RS256 with kid %s", hdr, set.Keys[0].Kid)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("id token signature does not verify with the JWKS: %v", err)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return jsonMap(t, b)
}

func TestSignInCodeFlow(t *testing.T) {
	v, ann := signinEnv(t)
	if err := v.emu.SignInAs(testTenant, "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	status, tr := v.redeem(t, redeemForm(v.code(t), nil))
	if status != http.StatusOK {
		t.Fatalf("redeem: %d %v", status, tr)
	}
	if tr["token_type"] != "Bearer" || tr["access_token"] == "" || tr["expires_in"] == nil {
		t.Errorf("token response %v", tr)
	}
	cl := v.idClaims(t, tr["id_token"].(string))
	want := map[string]any{
		"iss": v.emu.URL() + "/" + testTenant + "/v2.0", "aud": webApp, "tid": testTenant, "oid": ann.ObjectID,
		"nonce": "n-1", "email": "ann@contoso.com", "preferred_username": "ann@contoso.com", "name": "Ann Example", "ver": "2.0",
	}
	for k, w := range want {
		if cl[k] != w {
			t.Errorf("claim %s = %v, want %v", k, cl[k], w)
		}
	}
	now := v.clk.Now().Unix()
	if exp, _ := cl["exp"].(float64); int64(exp) <= now || int64(exp) > now+3600 {
		t.Errorf("exp %v not within the hour after %d", cl["exp"], now)
	}
	sub, _ := cl["sub"].(string)
	if sub == "" || sub == ann.ObjectID {
		t.Errorf("sub %q should be a pairwise id, not empty or the object id", sub)
	}

	// The subject stays when the address changes, and differs per app.
	if _, err := v.emu.AddUser(testTenant, User{ObjectID: ann.ObjectID, Email: "ann.new@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	_, tr = v.redeem(t, redeemForm(v.code(t), nil))
	cl2 := v.idClaims(t, tr["id_token"].(string))
	if cl2["sub"] != sub || cl2["email"] != "ann.new@contoso.com" {
		t.Errorf("after the address changed: sub %v email %v, want sub %s and the new address", cl2["sub"], cl2["email"], sub)
	}
	if other := pairwiseSub(testTenant, "other-app", ann.ObjectID); other == sub {
		t.Error("two apps got the same sub for one user")
	}
}

func TestSignInAccountPicker(t *testing.T) {
	v, ann := signinEnv(t)
	r := v.authorize(t, authorizeQuery(nil))
	resp, body := r.resp, r.body
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "ann@contoso.com") || !strings.Contains(body, `value="`+ann.ObjectID+`"`) {
		t.Fatalf("with nobody signed in the picker should list Ann: %d %s", resp.StatusCode, body)
	}
	post := func(extra url.Values) reply {
		f := authorizeQuery(nil)
		for k, vv := range extra {
			f[k] = vv
		}
		req, _ := http.NewRequest(http.MethodPost, v.emu.URL()+"/"+testTenant+"/oauth2/v2.0/authorize", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return v.browse(t, req)
	}
	if p := redirectParams(t, post(url.Values{"login": {ann.ObjectID}})); p.Get("code") == "" || p.Get("state") != "st-1" {
		t.Errorf("picking Ann: %v", p)
	}
	p := redirectParams(t, post(url.Values{"cancel": {"1"}}))
	if p.Get("error") != "access_denied" || !strings.HasPrefix(p.Get("error_description"), "AADSTS65004") || p.Get("state") != "st-1" {
		t.Errorf("cancel: %v", p)
	}
	if p := redirectParams(t, v.authorize(t, authorizeQuery(func(q url.Values) { q.Set("prompt", "none") }))); p.Get("error") != "login_required" {
		t.Errorf("prompt=none with nobody signed in: %v", p)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	v, _ := signinEnv(t)
	if err := v.emu.SignInAs(testTenant, "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	// Errors before the redirect URI is trusted are shown, never redirected.
	for _, tc := range []struct {
		name string
		mod  func(url.Values)
		code string
	}{
		{"redirect uri mismatch", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "AADSTS50011"},
		{"unknown app", func(q url.Values) { q.Set("client_id", "nobody") }, "AADSTS700016"},
		{"no client", func(q url.Values) { q.Del("client_id") }, "AADSTS900144"},
	} {
		r := v.authorize(t, authorizeQuery(tc.mod))
		resp, body := r.resp, r.body
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, tc.code) {
			t.Errorf("%s: %d location %q body %s, want 400 showing %s", tc.name, resp.StatusCode, resp.Header.Get("Location"), body, tc.code)
		}
	}
	// Later ones go back to the app.
	for _, tc := range []struct {
		name, err, code string
		mod             func(url.Values)
	}{
		{"no pkce", "invalid_request", "AADSTS9002325", func(q url.Values) { q.Del("code_challenge") }},
		{"plain pkce", "invalid_request", "AADSTS9002325", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"short challenge", "invalid_request", "AADSTS501491", func(q url.Values) { q.Set("code_challenge", "abc") }},
		{"token flow", "unsupported_response_type", "AADSTS700054", func(q url.Values) { q.Set("response_type", "id_token") }},
		{"no openid", "invalid_scope", "AADSTS70011", func(q url.Values) { q.Set("scope", "profile") }},
	} {
		p := redirectParams(t, v.authorize(t, authorizeQuery(tc.mod)))
		if p.Get("error") != tc.err || !strings.HasPrefix(p.Get("error_description"), tc.code) || p.Get("code") != "" {
			t.Errorf("%s: %v, want error %s with %s", tc.name, p, tc.err, tc.code)
		}
	}
}

func TestRedeemRefusals(t *testing.T) {
	v, _ := signinEnv(t)
	v.app(t, "other-app", App{})
	if err := v.emu.SignInAs(testTenant, "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mod    func(url.Values)
		status int
		err    string
		code   float64
	}{
		{"pkce mismatch", func(f url.Values) { f.Set("code_verifier", verifier+"x") }, 400, "invalid_grant", 50148},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_request", 900144},
		{"redirect uri mismatch", func(f url.Values) { f.Set("redirect_uri", webRedirect+"2") }, 400, "invalid_grant", 500112},
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "nope") }, 401, "invalid_client", 7000215},
		{"no credential", func(f url.Values) { f.Del("client_secret") }, 401, "invalid_client", 7000218},
		{"another app's code", func(f url.Values) {
			f.Set("client_id", "other-app")
			f.Set("client_secret", "secret-other-app")
		}, 400, "invalid_grant", 70000},
		{"forged code", func(f url.Values) { f.Set("code", "forged") }, 400, "invalid_grant", 70000},
	} {
		status, m := v.redeem(t, redeemForm(v.code(t), tc.mod))
		codes, _ := m["error_codes"].([]any)
		if status != tc.status || m["error"] != tc.err || len(codes) != 1 || codes[0] != tc.code {
			t.Errorf("%s: %d %v, want %d %s AADSTS%v", tc.name, status, m, tc.status, tc.err, tc.code)
		}
	}

	code := v.code(t)
	if status, m := v.redeem(t, redeemForm(code, nil)); status != http.StatusOK {
		t.Fatalf("first redemption: %d %v", status, m)
	}
	if status, m := v.redeem(t, redeemForm(code, nil)); status != http.StatusBadRequest || m["error"] != "invalid_grant" || !strings.HasPrefix(m["error_description"].(string), "AADSTS54005") {
		t.Errorf("reused code: %d %v, want AADSTS54005", status, m)
	}
	// A failed attempt uses the code up too.
	code = v.code(t)
	v.redeem(t, redeemForm(code, func(f url.Values) { f.Set("code_verifier", verifier+"x") }))
	if status, m := v.redeem(t, redeemForm(code, nil)); status != http.StatusBadRequest || !strings.HasPrefix(m["error_description"].(string), "AADSTS54005") {
		t.Errorf("code after a failed attempt: %d %v, want AADSTS54005", status, m)
	}

	code = v.code(t)
	v.clk.Advance(11 * time.Minute)
	if status, m := v.redeem(t, redeemForm(code, nil)); status != http.StatusBadRequest || !strings.HasPrefix(m["error_description"].(string), "AADSTS70008") {
		t.Errorf("expired code: %d %v, want AADSTS70008", status, m)
	}
}

func TestSignInSeedingErrors(t *testing.T) {
	v, _ := signinEnv(t)
	if _, err := v.emu.AddUser(testTenant, User{Name: "No Address"}); err == nil {
		t.Error("a user without UPN or email was accepted")
	}
	if err := v.emu.SignInAs(testTenant, "nobody@contoso.com"); err == nil {
		t.Error("signing in an unknown user was accepted")
	}
	if err := v.emu.AddRedirectURIs(testTenant, "nobody", webRedirect); err == nil {
		t.Error("redirect URIs for an unknown app were accepted")
	}
}
