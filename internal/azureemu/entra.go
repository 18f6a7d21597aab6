package azureemu

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// serveEntra answers the identity platform endpoints; false when the path
// is not one of them.
func (e *Emulator) serveEntra(c *call) bool {
	segs := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(segs) < 2 {
		return false
	}
	c.api = APIEntra
	tenantRef, rest := segs[0], strings.ToLower(strings.Join(segs[1:], "/"))
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		e.openIDConfig(c, tenantRef, true)
	case ".well-known/openid-configuration":
		e.openIDConfig(c, tenantRef, false)
	case "discovery/v2.0/keys", "discovery/keys":
		e.jwks(c)
	case "oauth2/v2.0/authorize":
		e.authorize(c, tenantRef)
	case "oauth2/v2.0/devicecode":
		e.deviceAuthorization(c, tenantRef)
	case "devicelogin":
		e.deviceLogin(c, tenantRef)
	case "oauth2/v2.0/token":
		e.token(c, tenantRef, true)
	case "oauth2/token":
		e.token(c, tenantRef, false)
	default:
		c.api = APIUnknown
		return false
	}
	return true
}

// openIDConfig is the tenant discovery document MSAL reads before asking
// for a token. MSAL requires issuer, authorization_endpoint and
// token_endpoint, with the issuer on the authority's scheme and host.
func (e *Emulator) openIDConfig(c *call, tenantRef string, v2 bool) {
	e.mu.Lock()
	t := e.st.tenants[strings.ToLower(tenantRef)]
	e.mu.Unlock()
	if t == nil {
		c.entraError(http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(tenantRef))
		return
	}
	base := c.baseURL() + "/" + t.id
	if !v2 {
		c.json(http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              c.baseURL() + "/common/discovery/keys",
			"issuer":                                "https://sts.windows.net/" + t.id + "/",
			"authorization_endpoint":                base + "/oauth2/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
			"subject_types_supported":               []string{"pairwise"},
			"tenant_region_scope":                   "EU",
			"cloud_instance_name":                   "microsoftonline.com",
		})
		return
	}
	c.json(http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// jwks publishes the key access tokens are signed with.
func (e *Emulator) jwks(c *call) {
	pub := e.signKey.PublicKey
	enc := base64.RawURLEncoding
	c.json(http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": e.keyID, "alg": "RS256",
		"n": enc.EncodeToString(pub.N.Bytes()),
		"e": enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// token is the client credentials grant on the v2 (scope) and v1
// (resource) endpoints.
func (e *Emulator) token(c *call, tenantRef string, v2 bool) {
	if c.r.Method != http.MethodPost {
		c.entraError(http.StatusBadRequest, "invalid_request", 900561,
			"The endpoint only accepts POST, OPTIONS requests. Received a "+c.r.Method+" request.")
		return
	}
	body, err := c.readBody(1 << 20)
	if err != nil {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body could not be read.")
		return
	}
	var form url.Values
	if ct := c.r.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		form, err = url.ParseQuery(string(body))
		if err != nil {
			c.entraError(http.StatusBadRequest, "invalid_request", 90014, "The request body must be application/x-www-form-urlencoded.")
			return
		}
	} else {
		form = url.Values{}
	}
	grant := form.Get("grant_type")
	if grant == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("grant_type"))
		return
	}
	if v2 && (grant == "device_code" || grant == deviceCodeGrantURN || grant == "refresh_token") {
		e.userGrant(c, tenantRef, grant, form)
		return
	}
	if grant == "authorization_code" && v2 {
		e.redeemCode(c, tenantRef, form)
		return
	}
	if grant != "client_credentials" {
		c.entraError(http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '"+grant+"'.")
		return
	}
	clientID, secret := clientCredentials(c, form)
	e.mu.Lock()
	defer e.mu.Unlock()
	t, app := e.clientApp(c, tenantRef, clientID)
	if app == nil {
		return
	}
	certAuth := false
	switch {
	case secret != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			c.entraError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
			return
		}
		if !app.SecretExpires.IsZero() && !e.now().Before(app.SecretExpires) {
			c.entraError(http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf(
				"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID))
			return
		}
	case form.Get("client_assertion") != "":
		if form.Get("client_assertion_type") != assertionType {
			c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("client_assertion_type"))
			return
		}
		if f := e.checkAssertion(c, t, app, form.Get("client_assertion")); f != nil {
			c.entraError(f.status, f.err, f.code, f.msg)
			return
		}
		certAuth = true
	default:
		c.entraError(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}

	var resource string
	if v2 {
		var f *entraFailure
		resource, f = parseScope(form.Get("scope"), tenantRef)
		if f != nil {
			c.entraError(f.status, f.err, f.code, f.msg)
			return
		}
	} else {
		resource = form.Get("resource")
		if resource == "" {
			c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("resource"))
			return
		}
		if serviceOf(resource) == svcUnknown {
			c.entraError(http.StatusBadRequest, "invalid_resource", 500011, resourceNotFound(resource, tenantRef))
			return
		}
	}
	tok, exp := e.issueToken(app, resource, certAuth)
	c.app = app.ClientID
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.w.Header().Set("Pragma", "no-cache")
	secs := int64(e.lifetime.Seconds())
	if v2 {
		c.json(http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		})
		return
	}
	now := e.now()
	s := strconv.FormatInt(secs, 10)
	c.json(http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": s, "ext_expires_in": s,
		"expires_on": strconv.FormatInt(exp.Unix(), 10), "not_before": strconv.FormatInt(now.Unix(), 10),
		"resource": resource, "access_token": tok,
	})
}

// entraFailure is one AADSTS error answer.
type entraFailure struct {
	status int
	err    string
	code   int
	msg    string
}

// ignoredScopes are the OIDC scopes MSAL appends to every request.
var ignoredScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// parseScope enforces the client credentials rule: exactly one resource
// with /.default.
func parseScope(scope, tenantRef string) (string, *entraFailure) {
	if strings.TrimSpace(scope) == "" {
		return "", &entraFailure{http.StatusBadRequest, "invalid_request", 900144, missingParam("scope")}
	}
	var rest []string
	for _, s := range strings.Fields(scope) {
		if !ignoredScopes[strings.ToLower(s)] {
			rest = append(rest, s)
		}
	}
	switch {
	case len(rest) == 0:
		return "", &entraFailure{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
	case len(rest) > 1:
		return "", &entraFailure{http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf(
			"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. Scopes for more than one resource, or more than one scope with /.default, cannot be requested at once.", scope)}
	}
	s := rest[0]
	if strings.Contains(s, "%") || !strings.HasSuffix(s, "/.default") {
		return "", &entraFailure{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", s)}
	}
	resource := strings.TrimSuffix(s, "/.default")
	if serviceOf(resource) == svcUnknown {
		return "", &entraFailure{http.StatusBadRequest, "invalid_resource", 500011, resourceNotFound(resource, tenantRef)}
	}
	return resource, nil
}

func missingParam(name string) string {
	return "The request body must contain the following parameter: '" + name + "'."
}

func tenantNotFound(ref string) string {
	return "Tenant '" + ref + "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
}

func resourceNotFound(resource, tenantRef string) string {
	return "The resource principal named " + resource + " was not found in the tenant named " + tenantRef +
		". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
}

// entraError writes the identity platform's error body.
func (c *call) entraError(status int, errName string, code int, msg string) {
	ts := c.e.now().Format("2006-01-02 15:04:05Z")
	corr := c.r.Header.Get("client-request-id")
	if corr == "" {
		corr = uuid.NewString()
	}
	c.json(status, map[string]any{
		"error": errName,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			code, msg, c.reqID, corr, ts),
		"error_codes":    []int{code},
		"timestamp":      ts,
		"trace_id":       c.reqID,
		"correlation_id": corr,
		"error_uri":      c.baseURL() + "/error?code=" + strconv.Itoa(code),
	})
}

// clientCredentials reads the client id and secret from the form or from
// HTTP Basic, where RFC 6749 §2.3.1 has both parts form-encoded.
func clientCredentials(c *call, form url.Values) (clientID, secret string) {
	clientID, secret = form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := c.r.BasicAuth(); ok {
		if dec, err := url.QueryUnescape(u); err == nil {
			clientID = dec
		}
		if dec, err := url.QueryUnescape(p); err == nil {
			secret = dec
		}
	}
	return clientID, secret
}

// clientApp finds the tenant and the client's app of a token request,
// answering Entra's error (and returning a nil app) when either is
// unknown. e.mu must be held.
func (e *Emulator) clientApp(c *call, tenantRef, clientID string) (*tenant, *appRec) {
	t := e.st.tenants[strings.ToLower(tenantRef)]
	if t == nil {
		c.entraError(http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(tenantRef))
		return nil, nil
	}
	if clientID == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("client_id"))
		return t, nil
	}
	app := t.apps[strings.ToLower(clientID)]
	if app == nil {
		c.entraError(http.StatusBadRequest, "unauthorized_client", 700016, appNotFound(clientID, tenantRef))
	}
	return t, app
}
