package azureemu

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// assertionSkew is the clock skew Entra tolerates on client assertions.
const assertionSkew = 5 * time.Minute

type assertionHeader struct {
	Alg       string `json:"alg"`
	X5t       string `json:"x5t"`
	X5tS256   string `json:"x5t#S256"`
	Typ       string `json:"typ"`
	KeyIDHint string `json:"kid"`
}

type assertionClaims struct {
	Aud any    `json:"aud"` // string or array
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Exp *int64 `json:"exp"`
	Nbf *int64 `json:"nbf"`
	Jti string `json:"jti"`
}

// checkAssertion verifies a certificate credential's client assertion the
// way Entra does: RS256/PS256 signature by a registered certificate
// (selected by x5t or x5t#S256 when given), iss = sub = client id, aud = a
// token endpoint of the tenant, and exp/nbf within 5 minutes of now.
// MSAL stamps assertions with the wall clock, so with a fake clock keep
// it near the wall clock when using certificate credentials.
func (e *Emulator) checkAssertion(c *call, t *tenant, app *appRec, assertion string) *entraFailure {
	malformed := &entraFailure{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return malformed
	}
	var hdr assertionHeader
	var cl assertionClaims
	if decodeJWTPart(parts[0], &hdr) != nil || decodeJWTPart(parts[1], &cl) != nil {
		return malformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return malformed
	}

	thumb := hdr.X5tS256
	if thumb == "" {
		thumb = hdr.X5t
	}
	keyMissing := &entraFailure{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
		"Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/%s']",
		thumbHex(thumb), app.ClientID, app.ClientID)}
	var candidates []*x509.Certificate
	for _, cert := range app.certs {
		switch {
		case hdr.X5tS256 != "":
			sum := sha256.Sum256(cert.Raw)
			if thumbMatches(hdr.X5tS256, sum[:]) {
				candidates = append(candidates, cert)
			}
		case hdr.X5t != "":
			sum := sha1.Sum(cert.Raw) //nolint:gosec // see import
			if thumbMatches(hdr.X5t, sum[:]) {
				candidates = append(candidates, cert)
			}
		default:
			candidates = append(candidates, cert)
		}
	}
	if len(candidates) == 0 {
		return keyMissing
	}
	signed := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(signed)
	verified := false
	for _, cert := range candidates {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		switch hdr.Alg {
		case "RS256":
			verified = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
		case "PS256":
			verified = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		}
		if verified {
			break
		}
	}
	if !verified {
		return &entraFailure{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s', Found key 'Start=..., End=...', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]",
			thumbHex(thumb), app.ClientID)}
	}

	if cl.Iss != app.ClientID || cl.Sub != app.ClientID {
		return &entraFailure{http.StatusUnauthorized, "invalid_client", 700021,
			"Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."}
	}
	if !e.audienceIsTokenEndpoint(c, t, cl.Aud) {
		return &entraFailure{http.StatusUnauthorized, "invalid_client", 50013,
			"Assertion audience claim does not match the required value. The audience in the assertion was '" + fmt.Sprint(cl.Aud) + "' and the expected audience is '" + c.baseURL() + "/" + t.id + "/oauth2/v2.0/token' or one of the Application Ids of the application."}
	}
	now := e.now()
	if cl.Exp == nil {
		return malformed
	}
	exp := time.Unix(*cl.Exp, 0)
	nbf := exp.Add(-time.Hour)
	if cl.Nbf != nil {
		nbf = time.Unix(*cl.Nbf, 0)
	}
	if now.After(exp.Add(assertionSkew)) || now.Before(nbf.Add(-assertionSkew)) {
		return &entraFailure{http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf(
			"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
			now.Format("2006-01-02T15:04:05.0000000Z"), nbf.UTC().Format("2006-01-02T15:04:05.0000000Z"), exp.UTC().Format("2006-01-02T15:04:05.0000000Z"))}
	}
	return nil
}

// audienceIsTokenEndpoint accepts the v1 or v2 token endpoint of tenant t
// on this host, naming the tenant by id or any of its domains.
func (e *Emulator) audienceIsTokenEndpoint(c *call, t *tenant, aud any) bool {
	var auds []string
	switch v := aud.(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, a := range auds {
		u, err := url.Parse(a)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || !strings.EqualFold(u.Host, c.r.Host) {
			continue
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(segs) < 3 || e.st.tenants[strings.ToLower(segs[0])] != t {
			continue
		}
		switch strings.ToLower(strings.Join(segs[1:], "/")) {
		case "oauth2/v2.0/token", "oauth2/token":
			return true
		}
	}
	return false
}

func decodeJWTPart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// thumbMatches compares a JOSE thumbprint header to a digest. The header is
// base64url per RFC 7515; MSAL Go sends standard base64, so both decode.
func thumbMatches(header string, digest []byte) bool {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(header); err == nil {
			return subtle.ConstantTimeCompare(b, digest) == 1
		}
	}
	return false
}

func thumbHex(header string) string {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(header); err == nil {
			return strings.ToUpper(fmt.Sprintf("%x", b))
		}
	}
	return header
}
