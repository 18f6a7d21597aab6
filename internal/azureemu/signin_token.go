package azureemu

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// idTokenLifetime is how long ID tokens are valid; Entra's default.
const idTokenLifetime = time.Hour

// idTokenClaims are the claims of a v2.0 ID token.
type idTokenClaims struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Email             string `json:"email,omitempty"`
	Name              string `json:"name,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Sub               string `json:"sub"`
	Tid               string `json:"tid"`
	Uti               string `json:"uti"`
	Ver               string `json:"ver"`
}

// delegatedClaims are those of the access token issued with an ID token.
// No emulated API accepts it (they serve app-only callers); it is there
// because clients expect one.
type delegatedClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Iat   int64  `json:"iat"`
	Nbf   int64  `json:"nbf"`
	Exp   int64  `json:"exp"`
	AppID string `json:"appid"`
	OID   string `json:"oid"`
	Scp   string `json:"scp"`
	Sub   string `json:"sub"`
	Tid   string `json:"tid"`
	Uti   string `json:"uti"`
	Ver   string `json:"ver"`
}

// redeemCode is the authorization_code grant of the v2 token endpoint: a
// confidential client (secret or certificate) redeems a code once, within
// ten minutes, with the redirect URI and PKCE verifier it was issued for.
func (e *Emulator) redeemCode(c *call, tenantRef string, form url.Values) {
	clientID, secret := clientCredentials(c, form)
	e.mu.Lock()
	defer e.mu.Unlock()
	t, app := e.clientApp(c, tenantRef, clientID)
	if app == nil {
		return
	}
	if f := e.clientAuth(c, t, app, secret, form); f != nil {
		c.entraError(f.status, f.err, f.code, f.msg)
		return
	}
	code := form.Get("code")
	if code == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("code"))
		return
	}
	s := &e.st.signin
	ac := s.codes[code]
	if ac == nil || !strings.EqualFold(ac.tenantID, t.id) || !strings.EqualFold(ac.clientID, app.ClientID) {
		c.entraError(http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
		return
	}
	if ac.used {
		c.entraError(http.StatusBadRequest, "invalid_grant", 54005,
			"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	}
	if e.now().Sub(ac.issued) > codeLifetime {
		c.entraError(http.StatusBadRequest, "invalid_grant", 70008,
			"The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	}
	// Any attempt by the right client uses the code up, so a stolen code
	// tried with a guessed verifier is worthless afterwards.
	ac.used = true
	if ru := form.Get("redirect_uri"); ru != ac.redirectURI {
		c.entraError(http.StatusBadRequest, "invalid_grant", 500112, fmt.Sprintf(
			"The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", ru, ac.redirectURI))
		return
	}
	verifier := form.Get("code_verifier")
	if verifier == "" {
		c.entraError(http.StatusBadRequest, "invalid_request", 900144, missingParam("code_verifier"))
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.challenge)) != 1 {
		c.entraError(http.StatusBadRequest, "invalid_grant", 50148,
			"The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
		return
	}
	u := s.user(strings.ToLower(t.id), ac.objectID)
	if u == nil {
		c.entraError(http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory.")
		return
	}
	idTok, access := e.issueSignIn(c, t, app, u, ac)
	c.app = app.ClientID
	c.w.Header().Set("Cache-Control", "no-store, no-cache")
	c.w.Header().Set("Pragma", "no-cache")
	secs := int64(e.lifetime.Seconds())
	c.json(http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": ac.scope, "expires_in": secs, "ext_expires_in": secs,
		"access_token": access, "id_token": idTok,
	})
}

// clientAuth checks a confidential client's secret or certificate
// assertion. Caller holds e.mu.
func (e *Emulator) clientAuth(c *call, t *tenant, app *appRec, secret string, form url.Values) *entraFailure {
	switch {
	case secret != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return &entraFailure{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)}
		}
		if !app.SecretExpires.IsZero() && !e.now().Before(app.SecretExpires) {
			return &entraFailure{http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf(
				"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.ClientID)}
		}
		return nil
	case form.Get("client_assertion") != "":
		if form.Get("client_assertion_type") != assertionType {
			return &entraFailure{http.StatusBadRequest, "invalid_request", 900144, missingParam("client_assertion_type")}
		}
		return e.checkAssertion(c, t, app, form.Get("client_assertion"))
	}
	return &entraFailure{http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

// issueSignIn mints the ID token and access token of a redeemed code.
// Caller holds e.mu.
func (e *Emulator) issueSignIn(c *call, t *tenant, app *appRec, u *User, ac *authCode) (string, string) {
	now := e.now()
	scopes := strings.Fields(ac.scope)
	idc := idTokenClaims{
		Aud: app.ClientID, Iss: c.baseURL() + "/" + t.id + "/v2.0",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(idTokenLifetime).Unix(),
		Nonce: ac.nonce, OID: u.ObjectID, Sub: pairwiseSub(t.id, app.ClientID, u.ObjectID), Tid: t.id,
		Uti: strings.ReplaceAll(uuid.NewString(), "-", ""), Ver: "2.0",
	}
	if slices.Contains(scopes, "profile") {
		idc.Name, idc.PreferredUsername = u.Name, u.UPN
	}
	if slices.Contains(scopes, "email") {
		idc.Email = u.Email
	}
	ac2 := delegatedClaims{
		Aud: "00000003-0000-0000-c000-000000000000", Iss: "https://sts.windows.net/" + t.id + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(e.lifetime).Unix(),
		AppID: app.ClientID, OID: u.ObjectID, Scp: strings.Join(append([]string{"User.Read"}, scopes...), " "),
		Sub: idc.Sub, Tid: t.id, Uti: strings.ReplaceAll(uuid.NewString(), "-", ""), Ver: "1.0",
	}
	return e.signJWT(idc), e.signJWT(ac2)
}

// pairwiseSub is a user's subject for one app: stable, but different for
// every app, as Entra's is.
func pairwiseSub(tenantID, clientID, objectID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(tenantID) + "\x00" + strings.ToLower(clientID) + "\x00" + strings.ToLower(objectID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
