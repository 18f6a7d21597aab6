package azureemu

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// service is an API audience family.
type service int

const (
	svcUnknown service = iota
	svcGraph
	svcARM
	svcLogAnalytics
	svcMonitor    // Logs Ingestion
	svcMonitoring // Azure Monitor metrics; known to Entra, accepted by no API here
)

// resources maps normalised resource URIs (lower case, no trailing slash)
// to the API they are for. Entra knows these service principals in every
// tenant.
var resources = map[string]service{
	"https://graph.microsoft.com":          svcGraph,
	"00000003-0000-0000-c000-000000000000": svcGraph,
	"https://management.azure.com":         svcARM,
	"https://management.core.windows.net":  svcARM,
	"https://api.loganalytics.io":          svcLogAnalytics,
	"https://api.loganalytics.azure.com":   svcLogAnalytics,
	"https://monitor.azure.com":            svcMonitor,
	"https://monitoring.azure.com":         svcMonitoring,
}

func normResource(r string) string { return strings.TrimRight(strings.ToLower(r), "/") }

func serviceOf(resource string) service { return resources[normResource(resource)] }

type issuedToken struct {
	expired bool
	exp     time.Time
}

// maxTokens is when issueToken starts forgetting tokens long expired, so
// a long-running emulator does not grow without bound.
const maxTokens = 1000

// tokenClaims are the claims of an app-only v1 access token.
type tokenClaims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	AppID    string   `json:"appid"`
	AppIDAcr string   `json:"appidacr"`
	Idp      string   `json:"idp"`
	OID      string   `json:"oid"`
	Sub      string   `json:"sub"`
	Tid      string   `json:"tid"`
	Roles    []string `json:"roles,omitempty"`
	Uti      string   `json:"uti"`
	Ver      string   `json:"ver"`
	// Delegated (user) tokens: the granted scopes, the user's directory
	// role template ids, and who the user is.
	Scp  string   `json:"scp,omitempty"`
	Wids []string `json:"wids,omitempty"`
	UPN  string   `json:"upn,omitempty"`
	Name string   `json:"name,omitempty"`
}

// issueToken mints an access token for app and resource. Caller holds e.mu.
func (e *Emulator) issueToken(app *appRec, resource string, certAuth bool) (string, time.Time) {
	now := e.now()
	exp := now.Add(e.lifetime)
	acr := "1"
	if certAuth {
		acr = "2"
	}
	cl := tokenClaims{
		Aud: resource, Iss: "https://sts.windows.net/" + app.tenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		AppID: app.ClientID, AppIDAcr: acr, Idp: "https://sts.windows.net/" + app.tenantID + "/",
		OID: app.ObjectID, Sub: app.ObjectID, Tid: app.tenantID,
		Uti: strings.ReplaceAll(uuid.NewString(), "-", ""), Ver: "1.0",
	}
	if serviceOf(resource) == svcGraph && len(app.GraphRoles) > 0 {
		cl.Roles = append([]string(nil), app.GraphRoles...)
	}
	if len(e.st.tokens) >= maxTokens {
		for id, t := range e.st.tokens {
			if now.Sub(t.exp) > time.Hour {
				delete(e.st.tokens, id)
			}
		}
	}
	e.st.tokens[cl.Uti] = &issuedToken{exp: exp}
	return e.signJWT(cl), exp
}

func (e *Emulator) signJWT(claims any) string {
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": e.keyID})
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, e.signKey, crypto.SHA256, sum[:])
	if err != nil {
		// A valid 2048-bit key always signs a SHA-256 digest.
		panic("azureemu: sign token: " + err.Error())
	}
	return signing + "." + enc.EncodeToString(sig)
}

// ExpireTokens makes every access token issued so far refused with 401
// InvalidAuthenticationToken "Access token has expired.", as if their
// lifetime had passed. New tokens work.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.st.tokens {
		t.expired = true
	}
}

// authFailure says why a bearer token was refused.
type authFailure int

const (
	authOK authFailure = iota
	authMissing
	authInvalid
	authExpired
	authAudience
	authTenant
)

// principal is the caller an access token stands for.
type principal struct {
	claims tokenClaims
	app    *appRec // nil when the app was removed since the token was issued
}

// authenticate checks the bearer token for API want. Caller must not hold
// e.mu. On success it sets c.app.
func (c *call) authenticate(want service) (principal, authFailure) {
	h := c.r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return principal{}, authMissing
	}
	cl, ok := c.e.verifyJWT(strings.TrimSpace(tok))
	if !ok {
		return principal{}, authInvalid
	}
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.st.tokens[cl.Uti]
	lapsed := !e.now().Before(time.Unix(cl.Exp, 0))
	if rec == nil && !lapsed {
		return principal{}, authInvalid
	}
	if lapsed || rec.expired {
		return principal{claims: cl}, authExpired
	}
	if serviceOf(cl.Aud) != want {
		return principal{claims: cl}, authAudience
	}
	p := principal{claims: cl, app: e.st.app(cl.Tid, cl.AppID)}
	c.app = cl.AppID
	return p, authOK
}

// verifyJWT checks the emulator's signature and decodes the claims.
func (e *Emulator) verifyJWT(tok string) (tokenClaims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tokenClaims{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return tokenClaims{}, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&e.signKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return tokenClaims{}, false
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, false
	}
	var cl tokenClaims
	if json.Unmarshal(body, &cl) != nil {
		return tokenClaims{}, false
	}
	return cl, true
}

// wwwAuthenticate is the challenge ARM and Graph send with a 401.
func (c *call) wwwAuthenticate(tenantID, desc string) {
	authz := c.baseURL() + "/"
	if tenantID != "" {
		authz += tenantID
	}
	c.w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+authz+`", error="invalid_token", error_description="`+desc+`"`)
}
