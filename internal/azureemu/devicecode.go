package azureemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The device authorization grant (RFC 8628) as the identity platform
// serves it: how an admin signs in to `lastmile azure setup`.
const (
	deviceCodeGrantURN = "urn:ietf:params:oauth:grant-type:device_code"
	// deviceCodeLifetime is Entra's expires_in (15 minutes).
	deviceCodeLifetime = 15 * time.Minute
	// deviceInterval is the polling interval Entra announces.
	deviceInterval = 5 * time.Second
	// refreshInactivity is how long an unused refresh token stays valid.
	refreshInactivity = 90 * 24 * time.Hour
	// userCodeAlphabet avoids look-alike characters.
	userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
)

// deviceCode is one device authorization in progress.
type deviceCode struct {
	code, userCode     string
	tenantRef          string // as requested: a tenant id or domain, organizations or common
	clientID, scope    string
	issued, lastPoll   time.Time
	approvedOID        string
	approvedTenant     string
	declined, redeemed bool
}

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	tenantID, clientID, oid string
	lastUsed                time.Time
}

// DeviceCode is a device authorization waiting for the user, as listed by
// PendingDeviceCodes.
type DeviceCode struct {
	UserCode string
	ClientID string
	// Tenant is the tenant as the client named it (an id, a domain,
	// organizations or common).
	Tenant  string
	Scope   string
	Expires time.Time
}

// multiTenantRefs are the authority aliases that let the user's home
// tenant decide.
func isMultiTenant(ref string) bool {
	return strings.EqualFold(ref, "organizations") || strings.EqualFold(ref, "common")
}

// SetAutoApprove makes every device code requested from now on approved at
// once as the user with this UPN, email or object id (if the user exists
// in the code's tenant), so a demo or test run needs no clicking. Empty
// turns it off.
func (e *Emulator) SetAutoApprove(login string) {
	e.mu.Lock()
	e.st.prov.autoApprove = login
	e.mu.Unlock()
}

// ApproveDeviceCode signs the user (UPN, email or object id) in on the
// device code shown to them, as entering it at the verification page and
// signing in would. The client's next poll gets tokens.
func (e *Emulator) ApproveDeviceCode(userCode, login string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	dc, err := e.pendingDevice(userCode)
	if err != nil {
		return err
	}
	return e.approve(dc, login)
}

// DeclineDeviceCode makes a device code's next poll answer
// authorization_declined, as when the user refuses.
func (e *Emulator) DeclineDeviceCode(userCode string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	dc, err := e.pendingDevice(userCode)
	if err != nil {
		return err
	}
	dc.declined = true
	return nil
}

// PendingDeviceCodes lists the device codes waiting for a user, oldest
// first (a test reads the user code here instead of from the CLI's
// output).
func (e *Emulator) PendingDeviceCodes() []DeviceCode {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DeviceCode
	now := e.now()
	for _, dc := range e.st.prov.device {
		if dc.approvedOID == "" && !dc.declined && !dc.redeemed && now.Before(dc.issued.Add(deviceCodeLifetime)) {
			out = append(out, DeviceCode{UserCode: dc.userCode, ClientID: dc.clientID, Tenant: dc.tenantRef,
				Scope: dc.scope, Expires: dc.issued.Add(deviceCodeLifetime)})
		}
	}
	slices.SortFunc(out, func(a, b DeviceCode) int { return a.Expires.Compare(b.Expires) })
	return out
}

func normUserCode(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// pendingDevice finds a device code the user may still act on. Caller
// holds e.mu.
func (e *Emulator) pendingDevice(userCode string) (*deviceCode, error) {
	want := normUserCode(userCode)
	for _, dc := range e.st.prov.device {
		if dc.userCode != want {
			continue
		}
		switch {
		case dc.redeemed || dc.declined || dc.approvedOID != "":
			return nil, fmt.Errorf("azureemu: code %s was already used", userCode)
		case !e.now().Before(dc.issued.Add(deviceCodeLifetime)):
			return nil, fmt.Errorf("azureemu: code %s has expired", userCode)
		}
		return dc, nil
	}
	return nil, fmt.Errorf("azureemu: no device code %s", userCode)
}

// approve signs a user in on a device code: in its tenant, or in the
// user's home tenant for organizations/common. Caller holds e.mu.
func (e *Emulator) approve(dc *deviceCode, login string) error {
	if isMultiTenant(dc.tenantRef) {
		for _, key := range slices.Sorted(maps.Keys(e.st.signin.users)) {
			if u := e.st.signin.user(key, login); u != nil {
				dc.approvedOID, dc.approvedTenant = u.ObjectID, e.tenantIDOf(key)
				return nil
			}
		}
		return fmt.Errorf("azureemu: no user %s in any tenant", login)
	}
	tid := e.tenantIDOf(dc.tenantRef)
	u := e.st.signin.user(strings.ToLower(tid), login)
	if u == nil {
		return fmt.Errorf("azureemu: no user %s in tenant %s", login, tid)
	}
	dc.approvedOID, dc.approvedTenant = u.ObjectID, tid
	return nil
}

// clientIsPublic tells whether a client may use the device code flow:
// the Azure CLI and Microsoft Graph Command Line Tools (first-party
// public clients every tenant knows), or an app registered with
// isFallbackPublicClient. known is false for an unknown client. Caller
// holds e.mu.
func (e *Emulator) clientIsPublic(tenantRef, clientID string) (public, known bool) {
	if strings.EqualFold(clientID, azureCLIClientID) || strings.EqualFold(clientID, graphCLIClientID) {
		return true, true
	}
	var tenants []*tenant
	if t := e.st.tenants[strings.ToLower(tenantRef)]; t != nil {
		tenants = append(tenants, t)
	} else if isMultiTenant(tenantRef) {
		for _, t := range e.st.tenants {
			tenants = append(tenants, t)
		}
	}
	for _, t := range tenants {
		if a := e.dir(t).appByAppID(clientID); a != nil {
			return a.public, true
		}
		if t.apps[strings.ToLower(clientID)] != nil {
			known = true
		}
	}
	return false, known
}

// registeredApp finds a public client's own registration, for its
// declared delegated permissions. Caller holds e.mu.
func (e *Emulator) registeredApp(tenantRef, clientID string) *dirApp {
	for _, t := range e.st.tenants {
		if !isMultiTenant(tenantRef) && !strings.EqualFold(t.id, e.tenantIDOf(tenantRef)) {
			continue
		}
		if a := e.dir(t).appByAppID(clientID); a != nil {
			return a
		}
	}
	return nil
}

// azureCLIGraphScopes is the scp Entra gives the Azure CLI for Microsoft
// Graph's .default (observed, reference §1.3).
var azureCLIGraphScopes = []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All",
	"DelegatedPermissionGrant.ReadWrite.All", "Directory.AccessAsUser.All", "Group.ReadWrite.All", "User.Read.All", "User.ReadWrite.All"}

// userScope is the resource and scopes a delegated token is for.
type userScope struct {
	audience string
	scp      []string
}

// resolveUserScope turns a delegated request's scope parameter into one
// resource and its granted scopes: one resource per request (AADSTS28000
// otherwise), .default alone or named scopes; the Azure CLI may only ask
// for .default of Microsoft Graph (its pre-authorization, AADSTS65002);
// ARM's only delegated scope is user_impersonation. Caller holds e.mu.
func (e *Emulator) resolveUserScope(tenantRef, clientID, scope string) (userScope, *entraFailure) {
	if strings.TrimSpace(scope) == "" {
		return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_request", 900144, missingParam("scope")}
	}
	var resource string
	var svc service
	var perms, oidc []string
	for _, s := range strings.Fields(scope) {
		if ignoredScopes[strings.ToLower(s)] {
			if !strings.EqualFold(s, "offline_access") {
				oidc = append(oidc, strings.ToLower(s))
			}
			continue
		}
		res, perm := "https://graph.microsoft.com", s
		if i := strings.LastIndex(s, "/"); i > 0 {
			res, perm = s[:i], s[i+1:]
		}
		sv := serviceOf(res)
		if sv == svcUnknown || perm == "" {
			return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_resource", 500011, resourceNotFound(res, tenantRef)}
		}
		if resource != "" && sv != svc {
			return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + scope + " is not valid."}
		}
		resource, svc = res, sv
		perms = append(perms, perm)
	}
	if resource == "" {
		// Only OIDC scopes: Entra issues a Microsoft Graph token.
		resource, svc, perms = "https://graph.microsoft.com", svcGraph, []string{"User.Read"}
	}
	hasDefault := slices.Contains(perms, ".default")
	if hasDefault && len(perms) > 1 {
		return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope " + scope + " is not valid. .default scope can't be combined with resource-specific scopes."}
	}
	us := userScope{audience: resource}
	switch svc {
	case svcGraph:
		us.audience = "https://graph.microsoft.com"
		switch {
		case strings.EqualFold(clientID, azureCLIClientID) && !hasDefault:
			return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_client", 65002, "Consent between first party application '" + azureCLIClientID +
				"' and first party resource '" + graphAppID + "' must be configured via preauthorization - applications owned and operated by Microsoft must get approval from the API owner before requesting tokens for that API."}
		case strings.EqualFold(clientID, azureCLIClientID):
			us.scp = slices.Clone(azureCLIGraphScopes)
		case hasDefault && strings.EqualFold(clientID, graphCLIClientID):
			us.scp = []string{"User.Read"}
		case hasDefault:
			// A registered client gets what it declared.
			if a := e.registeredApp(tenantRef, clientID); a != nil {
				for _, r := range a.rra {
					if !strings.EqualFold(r.ResourceAppID, graphAppID) {
						continue
					}
					for _, ra := range r.ResourceAccess {
						if i := slices.IndexFunc(graphScopes, func(g graphScopeDef) bool { return ra.Type == "Scope" && strings.EqualFold(g.id, ra.ID) }); i >= 0 {
							us.scp = append(us.scp, graphScopes[i].value)
						}
					}
				}
			}
			if len(us.scp) == 0 {
				us.scp = []string{"User.Read"}
			}
		default:
			us.scp = perms
		}
		us.scp = append(us.scp, oidc...)
	case svcARM:
		us.audience = "https://management.core.windows.net/"
		for _, p := range perms {
			if p != ".default" && !strings.EqualFold(p, "user_impersonation") {
				return userScope{}, &entraFailure{http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope " + scope + " is not valid."}
			}
		}
		us.scp = []string{"user_impersonation"}
	default:
		us.scp = []string{"user_impersonation"}
	}
	return us, nil
}

// deviceAuthorization is POST /{tenant}/oauth2/v2.0/devicecode.
func (e *Emulator) deviceAuthorization(c *call, tenantRef string) {
	if c.r.Method != http.MethodPost {
		c.entraError(http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+c.r.Method+" request.")
		return
	}
	form, ok := c.readForm()
	if !ok {
		return
	}
	clientID := form.Get("client_id")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st.tenants[strings.ToLower(tenantRef)] == nil && !isMultiTenant(tenantRef) {
		c.entraError(http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(tenantRef))
		return
	}
	if clientID == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("client_id"))
		return
	}
	if _, known := e.clientIsPublic(tenantRef, clientID); !known {
		c.entraError(http.StatusBadRequest, "unauthorized_client", 700016, appNotFound(clientID, tenantRef))
		return
	}
	if _, f := e.resolveUserScope(tenantRef, clientID, form.Get("scope")); f != nil {
		c.entraError(f.status, f.err, f.code, f.msg)
		return
	}
	ps := &e.st.prov
	if ps.device == nil {
		ps.device = map[string]*deviceCode{}
	}
	now := e.now()
	for k, dc := range ps.device {
		if now.Sub(dc.issued) > 2*deviceCodeLifetime {
			delete(ps.device, k)
		}
	}
	dc := &deviceCode{code: "DAQABAAEAAAD" + randomCode(), userCode: e.newUserCode(), tenantRef: tenantRef,
		clientID: clientID, scope: form.Get("scope"), issued: now}
	ps.device[dc.code] = dc
	if ps.autoApprove != "" {
		// Not found in this tenant: leave it to the page or the test.
		_ = e.approve(dc, ps.autoApprove)
	}
	c.app = clientID
	verify := c.baseURL() + "/" + tenantRef + "/devicelogin"
	c.json(http.StatusOK, map[string]any{
		"user_code": dc.userCode, "device_code": dc.code, "verification_uri": verify,
		"expires_in": int(deviceCodeLifetime.Seconds()), "interval": int(deviceInterval.Seconds()),
		"message": "To sign in, use a web browser to open the page " + verify + " and enter the code " + dc.userCode + " to authenticate.",
	})
}

// newUserCode makes a unique nine-character code. Caller holds e.mu.
func (e *Emulator) newUserCode() string {
	for {
		b := make([]byte, 9)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
		}
		code := string(b)
		if !slices.ContainsFunc(slices.Collect(maps.Values(e.st.prov.device)), func(d *deviceCode) bool { return d.userCode == code }) {
			return code
		}
	}
}

// readForm reads an x-www-form-urlencoded body, answering 400 as Entra
// does when it cannot.
func (c *call) readForm() (url.Values, bool) {
	body, err := c.readBody(1 << 20)
	if err != nil {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body could not be read.")
		return nil, false
	}
	if !strings.HasPrefix(strings.ToLower(c.r.Header.Get("Content-Type")), "application/x-www-form-urlencoded") {
		return url.Values{}, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		c.entraError(http.StatusBadRequest, "invalid_request", 90014, "The request body must be application/x-www-form-urlencoded.")
		return nil, false
	}
	return form, true
}

// userGrant is the token endpoint's device_code (both spellings) and
// refresh_token grants: the ones that yield delegated (user) tokens.
func (e *Emulator) userGrant(c *call, tenantRef, grant string, form url.Values) {
	clientID := form.Get("client_id")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st.tenants[strings.ToLower(tenantRef)] == nil && !isMultiTenant(tenantRef) {
		c.entraError(http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(tenantRef))
		return
	}
	if clientID == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("client_id"))
		return
	}
	if grant == "refresh_token" {
		e.redeemRefresh(c, tenantRef, clientID, form)
		return
	}
	code := form.Get("device_code")
	if code == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("device_code"))
		return
	}
	dc := e.st.prov.device[code]
	if dc == nil || !strings.EqualFold(dc.clientID, clientID) || !strings.EqualFold(e.tenantIDOf(dc.tenantRef), e.tenantIDOf(tenantRef)) {
		c.entraError(http.StatusBadRequest, "bad_verification_code", 70019, "The provided value for the input parameter 'device_code' is not valid.")
		return
	}
	now := e.now()
	switch {
	case dc.redeemed:
		c.entraError(http.StatusBadRequest, "invalid_grant", 54005, "The device code was already redeemed; start a new device code flow.")
		return
	case !now.Before(dc.issued.Add(deviceCodeLifetime)):
		c.entraError(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
		return
	case dc.declined:
		c.entraError(http.StatusBadRequest, "authorization_declined", 65004, "The user declined to authorize the request.")
		return
	case dc.approvedOID == "":
		// RFC 8628 §3.5: polling faster than the interval is slow_down
		// (Entra does not document it; MSAL treats it like pending).
		tooSoon := !dc.lastPoll.IsZero() && now.Sub(dc.lastPoll) < deviceInterval
		dc.lastPoll = now
		if tooSoon {
			c.entraError(http.StatusBadRequest, "slow_down", 70016, "OAuth 2.0 device flow error. Polling faster than the interval; wait at least "+deviceInterval.String()+" between requests.")
			return
		}
		c.entraError(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return
	}
	if public, _ := e.clientIsPublic(dc.tenantRef, clientID); !public {
		c.entraError(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	us, f := e.resolveUserScope(dc.tenantRef, clientID, dc.scope)
	if f != nil {
		c.entraError(f.status, f.err, f.code, f.msg)
		return
	}
	u := e.st.signin.user(strings.ToLower(dc.approvedTenant), dc.approvedOID)
	if u == nil {
		c.entraError(http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory.")
		return
	}
	dc.redeemed = true
	e.issueUserTokens(c, dc.approvedTenant, clientID, u, us, dc.scope)
}

// redeemRefresh is the refresh_token grant: a token for any resource the
// client may ask for (refresh tokens are multi-resource), and a new
// refresh token. Caller holds e.mu.
func (e *Emulator) redeemRefresh(c *call, tenantRef, clientID string, form url.Values) {
	tok := form.Get("refresh_token")
	if tok == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("refresh_token"))
		return
	}
	rg := e.st.prov.refresh[tok]
	now := e.now()
	switch {
	case rg == nil:
		c.entraError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case !strings.EqualFold(rg.clientID, clientID):
		c.entraError(http.StatusBadRequest, "invalid_grant", 70000, "The refresh token was issued to a different client.")
		return
	case !isMultiTenant(tenantRef) && !strings.EqualFold(e.tenantIDOf(tenantRef), rg.tenantID):
		c.entraError(http.StatusBadRequest, "invalid_grant", 70000, "The refresh token was issued in a different tenant.")
		return
	case now.Sub(rg.lastUsed) > refreshInactivity:
		c.entraError(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on "+rg.lastUsed.Format(time.RFC3339)+" and was inactive for 90.00:00:00.")
		return
	}
	u := e.st.signin.user(strings.ToLower(rg.tenantID), rg.oid)
	if u == nil {
		c.entraError(http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory.")
		return
	}
	us, f := e.resolveUserScope(rg.tenantID, clientID, form.Get("scope"))
	if f != nil {
		c.entraError(f.status, f.err, f.code, f.msg)
		return
	}
	rg.lastUsed = now
	scope := form.Get("scope")
	if !slices.ContainsFunc(strings.Fields(scope), func(s string) bool { return strings.EqualFold(s, "offline_access") }) {
		// A refresh always yields a new refresh token.
		scope += " offline_access"
	}
	e.issueUserTokens(c, rg.tenantID, clientID, u, us, scope)
}

// userIDClaims are the claims of the ID token of a device code sign-in.
type userIDClaims struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Name              string `json:"name,omitempty"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Sub               string `json:"sub"`
	Tid               string `json:"tid"`
	Ver               string `json:"ver"`
}

// issueUserTokens answers a successful user grant: a delegated access
// token (scp, the user's oid, tid and wids), a refresh token when
// offline_access was asked for, an ID token for openid, and client_info
// as MSAL expects. The scope answered echoes the request, so MSAL sees no
// declined scopes. Caller holds e.mu.
func (e *Emulator) issueUserTokens(c *call, tenantID, clientID string, u *User, us userScope, scope string) {
	now := e.now()
	exp := now.Add(e.lifetime)
	sum := sha256.Sum256([]byte(strings.ToLower(tenantID + "\x00" + clientID + "\x00" + u.ObjectID)))
	sub := base64.RawURLEncoding.EncodeToString(sum[:])
	cl := tokenClaims{
		Aud: us.audience, Iss: "https://sts.windows.net/" + tenantID + "/", Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		AppID: clientID, AppIDAcr: "0", Idp: "https://sts.windows.net/" + tenantID + "/", OID: u.ObjectID, Sub: sub, Tid: tenantID,
		Uti: strings.ReplaceAll(uuid.NewString(), "-", ""), Ver: "1.0",
		Scp: strings.Join(us.scp, " "), Wids: e.st.wids(u.ObjectID), UPN: u.UPN, Name: u.Name,
	}
	e.registerToken(cl.Uti, exp)
	secs := int64(e.lifetime.Seconds())
	clientInfo, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": tenantID})
	out := map[string]any{
		"token_type": "Bearer", "scope": scope, "expires_in": secs, "ext_expires_in": secs,
		"access_token": e.signJWT(cl), "client_info": base64.RawURLEncoding.EncodeToString(clientInfo),
	}
	scopes := strings.Fields(strings.ToLower(scope))
	if slices.Contains(scopes, "offline_access") {
		ps := &e.st.prov
		if ps.refresh == nil {
			ps.refresh = map[string]*refreshGrant{}
		}
		if len(ps.refresh) >= maxTokens {
			for k, r := range ps.refresh {
				if now.Sub(r.lastUsed) > refreshInactivity {
					delete(ps.refresh, k)
				}
			}
		}
		rt := "1.AR8A" + randomCode()
		ps.refresh[rt] = &refreshGrant{tenantID: tenantID, clientID: clientID, oid: u.ObjectID, lastUsed: now}
		out["refresh_token"] = rt
	}
	if slices.Contains(scopes, "openid") {
		out["id_token"] = e.signJWT(userIDClaims{
			Aud: clientID, Iss: c.baseURL() + "/" + tenantID + "/v2.0", Iat: now.Unix(), Nbf: now.Unix(),
			Exp: now.Add(time.Hour).Unix(), Name: u.Name, OID: u.ObjectID, PreferredUsername: u.UPN, Sub: sub, Tid: tenantID, Ver: "2.0",
		})
	}
	c.app = clientID
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.w.Header().Set("Pragma", "no-cache")
	c.json(http.StatusOK, out)
}

// registerToken remembers an issued access token so authenticate accepts
// it (and ExpireTokens can expire it). Caller holds e.mu.
func (e *Emulator) registerToken(uti string, exp time.Time) {
	now := e.now()
	if len(e.st.tokens) >= maxTokens {
		for id, t := range e.st.tokens {
			if now.Sub(t.exp) > time.Hour {
				delete(e.st.tokens, id)
			}
		}
	}
	e.st.tokens[uti] = &issuedToken{exp: exp}
}

var deviceTmpl = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enter code</title></head>
<body><main>
{{if .Done}}<h1>{{.Done}}</h1><p>You may now close this window.</p>
{{else}}<h1>Enter code</h1>
<p>Enter the code displayed on your app or device, then pick the account to sign in with (Entra ID emulator, tenant {{.Tenant}}).</p>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label>Code <input name="user_code" value="{{.Code}}" autocomplete="off"></label>
<ul>
{{range .Users}}<li><button type="submit" name="login" value="{{.ObjectID}}">{{.Name}} ({{.UPN}})</button></li>
{{else}}<li>No users in this tenant: add some with AddUser.</li>
{{end}}</ul>
<button type="submit" name="deny" value="1">Deny</button>
</form>{{end}}
</main></body></html>
`))

type deviceView struct {
	Tenant, Action, Code, Error, Done string
	Users                             []*User
}

// deviceLogin is the verification page: enter the code, click a user (or
// Deny). GET shows it (?code= fills the code in); POST acts.
func (e *Emulator) deviceLogin(c *call, tenantRef string) {
	v := deviceView{Tenant: tenantRef, Action: "/" + tenantRef + "/devicelogin", Code: c.r.URL.Query().Get("code")}
	status := http.StatusOK
	form := url.Values{}
	if c.r.Method == http.MethodPost {
		if b, err := c.readBody(1 << 16); err == nil {
			if f, err := url.ParseQuery(string(b)); err == nil {
				form = f
			}
		}
	}
	e.mu.Lock()
	if c.r.Method == http.MethodPost {
		v.Code = form.Get("user_code")
		dc, derr := e.pendingDevice(v.Code)
		switch {
		case derr != nil:
			v.Error, status = strings.TrimPrefix(derr.Error(), "azureemu: "), http.StatusBadRequest
		case form.Get("deny") != "":
			dc.declined = true
			v.Done = "You have declined to sign in."
		default:
			if aerr := e.approve(dc, form.Get("login")); aerr != nil {
				v.Error, status = strings.TrimPrefix(aerr.Error(), "azureemu: "), http.StatusBadRequest
			} else {
				v.Done = "You have signed in to the application on your device."
			}
		}
	} else if c.r.Method != http.MethodGet {
		v.Error, status = "Use GET or POST.", http.StatusMethodNotAllowed
	}
	if isMultiTenant(tenantRef) {
		for _, key := range slices.Sorted(maps.Keys(e.st.signin.users)) {
			v.Users = append(v.Users, e.st.signin.users[key]...)
		}
	} else {
		v.Users = slices.Clone(e.st.signin.users[strings.ToLower(e.tenantIDOf(tenantRef))])
	}
	e.mu.Unlock()
	var b strings.Builder
	if err := deviceTmpl.Execute(&b, v); err != nil {
		e.log.Error("azure emulator: device login page", "err", err)
	}
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.raw(status, "text/html; charset=utf-8", []byte(b.String()))
}
