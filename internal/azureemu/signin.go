package azureemu

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// User is a person in a tenant's directory who signs in to web apps with
// the OpenID Connect authorization code flow.
type User struct {
	// ObjectID is the user's oid; generated if empty. It stays the same
	// when the user's names change, as in Entra, and the pairwise sub of
	// ID tokens derives from it.
	ObjectID string
	// UPN is the user principal name, sent as preferred_username (profile
	// scope), e.g. ann@contoso.com. Defaults to Email.
	UPN string
	// Email is the mail attribute, sent as email (email scope). May be
	// empty, as for users without a mailbox.
	Email string
	// Name is the display name; defaults to UPN.
	Name string
}

// signinState is what the authorization code flow keeps. Maps are made on
// first use, so the zero value is ready.
type signinState struct {
	users     map[string][]*User   // by lower-case tenant id, in the order added
	redirects map[string][]string  // by appKey: registered redirect URIs
	signedIn  map[string]string    // lower-case tenant id → object id of the signed-in user
	codes     map[string]*authCode // by code
}

// authCode is one issued authorization code.
type authCode struct {
	tenantID, clientID, redirectURI string
	challenge, nonce, scope         string
	objectID                        string
	issued                          time.Time
	used                            bool
}

// codeLifetime is how long an authorization code may be redeemed, as in
// Entra.
const codeLifetime = 10 * time.Minute

func appKey(tenantID, clientID string) string {
	return strings.ToLower(tenantID) + "/" + strings.ToLower(clientID)
}

// AddUser registers (or, with the same ObjectID, replaces) a user in a
// tenant, creating the tenant if needed. Replacing is how a test changes a
// user's e-mail address at the identity provider. It returns the user with
// generated fields filled in.
func (e *Emulator) AddUser(tenantID string, u User) (User, error) {
	if !tenantIDRE.MatchString(tenantID) {
		return User{}, fmt.Errorf("azureemu: invalid tenant id %q", tenantID)
	}
	if u.UPN == "" {
		u.UPN = u.Email
	}
	if u.UPN == "" {
		return User{}, errors.New("azureemu: user needs a UPN or an Email")
	}
	if u.ObjectID == "" {
		u.ObjectID = uuid.NewString()
	}
	if u.Name == "" {
		u.Name = u.UPN
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		t = e.st.addTenant(tenantID, nil)
	}
	s := &e.st.signin
	if s.users == nil {
		s.users = map[string][]*User{}
	}
	key := strings.ToLower(t.id)
	rec := u
	if i := slices.IndexFunc(s.users[key], func(o *User) bool { return strings.EqualFold(o.ObjectID, u.ObjectID) }); i >= 0 {
		s.users[key][i] = &rec
	} else {
		s.users[key] = append(s.users[key], &rec)
	}
	return u, nil
}

// SignInAs makes the tenant's authorize endpoint sign in the user whose
// UPN, Email or ObjectID is login, without showing the account picker, as
// a browser with a session at Entra would. It lasts until changed; an
// empty login signs out, so the picker is shown again.
func (e *Emulator) SignInAs(tenantID, login string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("azureemu: no tenant %s", tenantID)
	}
	s := &e.st.signin
	if s.signedIn == nil {
		s.signedIn = map[string]string{}
	}
	key := strings.ToLower(t.id)
	if login == "" {
		delete(s.signedIn, key)
		return nil
	}
	u := s.user(key, login)
	if u == nil {
		return fmt.Errorf("azureemu: no user %s in tenant %s", login, tenantID)
	}
	s.signedIn[key] = u.ObjectID
	return nil
}

// AddRedirectURIs registers redirect (reply) URIs for an app; the
// authorize endpoint accepts only registered ones, compared exactly.
func (e *Emulator) AddRedirectURIs(tenantID, clientID string, uris ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.app(tenantID, clientID)
	if a == nil {
		return fmt.Errorf("azureemu: no app %s in tenant %s", clientID, tenantID)
	}
	s := &e.st.signin
	if s.redirects == nil {
		s.redirects = map[string][]string{}
	}
	k := appKey(a.tenantID, a.ClientID)
	for _, u := range uris {
		if !slices.Contains(s.redirects[k], u) {
			s.redirects[k] = append(s.redirects[k], u)
		}
	}
	return nil
}

// user finds a user by UPN, email or object id. Caller holds e.mu.
func (s *signinState) user(tenantKey, login string) *User {
	for _, u := range s.users[tenantKey] {
		if strings.EqualFold(u.UPN, login) || strings.EqualFold(u.Email, login) || strings.EqualFold(u.ObjectID, login) {
			return u
		}
	}
	return nil
}

// authorize is the authorization endpoint of the code flow. Until the
// client and redirect URI are known good, errors are shown as a page (as
// Entra does: it must not redirect to an unverified address); after that
// they go back to the app as error and error_description. GET shows the
// account picker unless someone is signed in (SignInAs); the picker POSTs
// back here with the chosen account.
func (e *Emulator) authorize(c *call, tenantRef string) {
	q := c.r.URL.Query()
	switch c.r.Method {
	case http.MethodGet:
	case http.MethodPost:
		body, err := c.readBody(1 << 16)
		if err == nil {
			q, err = url.ParseQuery(string(body))
		}
		if err != nil {
			c.signinPage(http.StatusBadRequest, 900144, "The request body could not be read.")
			return
		}
	default:
		c.signinPage(http.StatusMethodNotAllowed, 900561, "The endpoint only accepts GET and POST requests.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantRef)]
	if t == nil {
		c.signinPage(http.StatusBadRequest, 90002, tenantNotFound(tenantRef))
		return
	}
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		c.signinPage(http.StatusBadRequest, 900144, missingParam("client_id"))
		return
	}
	app := t.apps[strings.ToLower(clientID)]
	if app == nil {
		c.signinPage(http.StatusBadRequest, 700016, appNotFound(clientID, tenantRef))
		return
	}
	if redirectURI == "" {
		c.signinPage(http.StatusBadRequest, 900144, missingParam("redirect_uri"))
		return
	}
	s := &e.st.signin
	if !slices.Contains(s.redirects[appKey(t.id, app.ClientID)], redirectURI) {
		c.signinPage(http.StatusBadRequest, 50011, fmt.Sprintf(
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
			redirectURI, app.ClientID))
		return
	}
	back := func(errName string, code int, msg string) {
		c.redirectBack(redirectURI, url.Values{"error": {errName},
			"error_description": {fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nTimestamp: %s", code, msg, c.reqID, e.now().Format("2006-01-02 15:04:05Z"))},
			"error_uri":         {c.baseURL() + "/error?code=" + fmt.Sprint(code)}, "state": {q.Get("state")}})
	}
	if rt := q.Get("response_type"); rt != "code" {
		back("unsupported_response_type", 700054, "response_type '"+rt+"' is not enabled for the application. The emulator serves the authorization code flow only.")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		back("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '"+q.Get("scope")+"' does not include openid; the emulator issues ID tokens only.")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" || q.Get("code_challenge_method") != "S256" {
		back("invalid_request", 9002325, "Proof Key for Code Exchange with code_challenge_method S256 is required.")
		return
	}
	if len(challenge) != 43 {
		back("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
		return
	}
	var u *User
	key := strings.ToLower(t.id)
	switch {
	case c.r.Method == http.MethodPost && q.Get("cancel") != "":
		back("access_denied", 65004, "User declined to consent to access the app.")
		return
	case c.r.Method == http.MethodPost:
		u = s.user(key, q.Get("login"))
	default:
		u = s.user(key, s.signedIn[key])
	}
	if u == nil {
		if q.Get("prompt") == "none" {
			back("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
			return
		}
		c.accountPicker(t, app, q, s.users[key])
		return
	}
	code := randomCode()
	if s.codes == nil {
		s.codes = map[string]*authCode{}
	}
	if len(s.codes) >= maxTokens {
		for k, ac := range s.codes {
			if e.now().Sub(ac.issued) > codeLifetime {
				delete(s.codes, k)
			}
		}
	}
	s.codes[code] = &authCode{
		tenantID: t.id, clientID: app.ClientID, redirectURI: redirectURI,
		challenge: challenge, nonce: q.Get("nonce"), scope: strings.Join(scopes, " "),
		objectID: u.ObjectID, issued: e.now(),
	}
	c.app = app.ClientID
	c.redirectBack(redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}})
}

func randomCode() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func appNotFound(clientID, tenantRef string) string {
	return fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		clientID, tenantRef)
}

// redirectBack sends the browser to the app's redirect URI with params
// added to its query (an empty state is left out).
func (c *call) redirectBack(redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		c.signinPage(http.StatusBadRequest, 50011, "The redirect URI '"+redirectURI+"' is not a valid URL.")
		return
	}
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	c.w.Header().Set("Location", u.String())
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.empty(http.StatusFound)
}

var signinTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to your account</title></head>
<body><main>
{{if .Error}}<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">{{.Error}}</p>
{{else}}<h1>Pick an account</h1>
<p>to continue to {{.App}} (Entra ID emulator, tenant {{.Tenant}})</p>
<form method="post" action="{{.Action}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<ul>
{{range .Users}}<li><button type="submit" name="login" value="{{.ObjectID}}">{{.Name}} ({{.UPN}})</button></li>
{{else}}<li>No users in this tenant: add some with AddUser.</li>
{{end}}</ul>
<button type="submit" name="cancel" value="1">Cancel</button>
</form>{{end}}
</main></body></html>
`))

type signinView struct {
	Error       string
	App, Tenant string
	Action      string
	Params      map[string]string
	Users       []*User
}

// signinPage shows an error the browser cannot be sent back to the app
// with.
func (c *call) signinPage(status, code int, msg string) {
	c.html(status, signinView{Error: fmt.Sprintf("AADSTS%d: %s", code, msg)})
}

// accountPicker shows the tenant's users to choose from, carrying the
// request's parameters along.
func (c *call) accountPicker(t *tenant, app *appRec, q url.Values, users []*User) {
	params := map[string]string{}
	for k := range q {
		if k != "login" && k != "cancel" {
			params[k] = q.Get(k)
		}
	}
	c.html(http.StatusOK, signinView{
		App: app.DisplayName, Tenant: t.id, Action: "/" + t.id + "/oauth2/v2.0/authorize",
		Params: params, Users: users,
	})
}

func (c *call) html(status int, v signinView) {
	var b strings.Builder
	if err := signinTmpl.Execute(&b, v); err != nil {
		c.e.log.Error("azure emulator: sign-in page", "err", err)
	}
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.raw(status, "text/html; charset=utf-8", []byte(b.String()))
}
