package azureemu

import (
	"bytes"
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
	"time"

	"github.com/google/uuid"
)

// keyCredIn is a keyCredentials entry as a client sends it.
type keyCredIn struct {
	KeyID         *string `json:"keyId"`
	Type          string  `json:"type"`
	Usage         string  `json:"usage"`
	Key           *string `json:"key"`
	DisplayName   *string `json:"displayName"`
	StartDateTime *string `json:"startDateTime"`
	EndDateTime   *string `json:"endDateTime"`
}

// parseKeyCredentials reads the keyCredentials collection of a POST or
// PATCH, which replaces the whole collection: an entry naming an existing
// keyId without a key keeps that certificate (GET never returns keys);
// new entries carry the base64 certificate (DER, or PEM as some tools
// send). Only public certificates for verification are accepted. The
// string is the 400 message, "" when valid.
func (e *Emulator) parseKeyCredentials(a *dirApp, raw json.RawMessage) ([]*keyCred, string) {
	var in []keyCredIn
	if json.Unmarshal(raw, &in) != nil {
		return nil, "Invalid value specified for property 'keyCredentials' of resource 'Application'."
	}
	var out []*keyCred
	for _, k := range in {
		if k.Key == nil || *k.Key == "" {
			if k.KeyID == nil {
				return nil, "Key credential key is required for a new key credential."
			}
			i := slices.IndexFunc(a.keys, func(x *keyCred) bool { return strings.EqualFold(x.keyID, *k.KeyID) })
			if i < 0 {
				return nil, "Key credential with keyId '" + *k.KeyID + "' does not exist; send the certificate in 'key'."
			}
			out = append(out, a.keys[i])
			continue
		}
		kc, msg := newKeyCred(k)
		if msg != "" {
			return nil, msg
		}
		if slices.ContainsFunc(out, func(x *keyCred) bool { return bytes.Equal(x.cert.Raw, kc.cert.Raw) }) {
			return nil, "Key credential with the same certificate is present more than once."
		}
		out = append(out, kc)
	}
	return out, ""
}

// newKeyCred checks one new certificate credential.
func newKeyCred(k keyCredIn) (*keyCred, string) {
	der, err := base64.StdEncoding.DecodeString(*k.Key)
	if err != nil {
		return nil, "Invalid certificate: key value is not base64."
	}
	if b, _ := pem.Decode(der); b != nil && b.Type == "CERTIFICATE" {
		der = b.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "Invalid certificate: Key value is invalid certificate"
	}
	typ, ok := canonical(k.Type, []string{"AsymmetricX509Cert"})
	if !ok {
		return nil, "Key credential type '" + k.Type + "' is not supported; use 'AsymmetricX509Cert'."
	}
	usage, ok := canonical(k.Usage, []string{"Verify"})
	if !ok {
		return nil, "Key credential usage '" + k.Usage + "' is not supported: upload the public certificate with usage 'Verify'."
	}
	kc := &keyCred{keyID: uuid.NewString(), typ: typ, usage: usage, cert: cert, start: cert.NotBefore.UTC(), end: cert.NotAfter.UTC(),
		displayName: "CN=" + cert.Subject.CommonName}
	if k.KeyID != nil {
		if _, err := uuid.Parse(*k.KeyID); err != nil {
			return nil, "Invalid value specified for property 'keyId' of resource 'KeyCredential'."
		}
		kc.keyID = strings.ToLower(*k.KeyID)
	}
	if k.DisplayName != nil {
		kc.displayName = *k.DisplayName
	}
	for _, f := range []struct {
		raw *string
		dst *time.Time
		nm  string
	}{{k.StartDateTime, &kc.start, "startDateTime"}, {k.EndDateTime, &kc.end, "endDateTime"}} {
		if f.raw == nil {
			continue
		}
		ts, err := time.Parse(time.RFC3339, *f.raw)
		if err != nil {
			return nil, "Invalid value specified for property '" + f.nm + "' of resource 'KeyCredential'."
		}
		*f.dst = ts.UTC()
	}
	if kc.start.Before(cert.NotBefore.Add(-time.Second)) || kc.end.After(cert.NotAfter.Add(time.Second)) || !kc.end.After(kc.start) {
		return nil, "Key credential end date is invalid: it must lie within the certificate's validity."
	}
	return kc, ""
}

// proofAudience is the audience of addKey/removeKey proofs (Azure AD
// Graph's application id, per the Graph docs).
const proofAudience = "00000002-0000-0000-c000-000000000000"

// checkProof verifies an addKey/removeKey proof of possession: a JWT
// signed (RS256) by one of the app's current certificates, aud
// 00000002-…, iss the application (object or client id), and a lifetime
// of at most ten minutes that includes now. "" when valid.
func (e *Emulator) checkProof(a *dirApp, proof string) string {
	now := e.now()
	var valid []*keyCred
	for _, k := range a.keys {
		if !now.Before(k.start) && now.Before(k.end) {
			valid = append(valid, k)
		}
	}
	if len(valid) == 0 {
		return "The application has no valid certificate to verify the proof; add the first certificate with the update application operation (PATCH keyCredentials)."
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return "Proof of possession token is malformed."
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var cl struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Nbf *int64 `json:"nbf"`
		Exp *int64 `json:"exp"`
	}
	if decodeJWTPart(parts[0], &hdr) != nil || decodeJWTPart(parts[1], &cl) != nil {
		return "Proof of possession token is malformed."
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil || hdr.Alg != "RS256" {
		return "Proof of possession token must be signed with RS256."
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	signed := slices.ContainsFunc(valid, func(k *keyCred) bool {
		pub, ok := k.cert.PublicKey.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	})
	if !signed {
		return "Proof of possession token is not signed by a current certificate of the application."
	}
	aud, _ := cl.Aud.(string)
	if auds, ok := cl.Aud.([]any); ok && len(auds) == 1 {
		aud, _ = auds[0].(string)
	}
	switch {
	case aud != proofAudience:
		return "Proof of possession token audience must be '" + proofAudience + "'."
	case !strings.EqualFold(cl.Iss, a.id) && !strings.EqualFold(cl.Iss, a.appID):
		return "Proof of possession token issuer must be the application."
	case cl.Nbf == nil || cl.Exp == nil || *cl.Exp-*cl.Nbf > 600 || *cl.Exp <= *cl.Nbf:
		return "Proof of possession token must have nbf and exp at most ten minutes apart."
	case now.Before(time.Unix(*cl.Nbf, 0).Add(-assertionSkew)) || !now.Before(time.Unix(*cl.Exp, 0).Add(assertionSkew)):
		return "Proof of possession token is expired or not yet valid."
	}
	return ""
}

// addKey adds a certificate to an app that already has a valid one,
// proven by a proof-of-possession token.
func (e *Emulator) addKey(c *call, t *tenant, d *directory, a *dirApp) {
	var body struct {
		KeyCredential *keyCredIn `json:"keyCredential"`
		Proof         string     `json:"proof"`
	}
	if raw, err := c.readBody(1 << 20); err != nil || json.Unmarshal(raw, &body) != nil {
		c.graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return
	}
	if body.KeyCredential == nil || body.KeyCredential.Key == nil {
		c.badRequest("Invalid value specified for property 'keyCredential' of resource 'Application'.")
		return
	}
	if msg := e.checkProof(a, body.Proof); msg != "" {
		c.badRequest(msg)
		return
	}
	kc, msg := newKeyCred(*body.KeyCredential)
	if msg == "" && slices.ContainsFunc(a.keys, func(x *keyCred) bool { return bytes.Equal(x.cert.Raw, kc.cert.Raw) }) {
		msg = "Key credential with the same certificate already exists on the application."
	}
	if msg != "" {
		c.badRequest(msg)
		return
	}
	a.keys = append(a.keys, kc)
	e.syncApp(t, d, a)
	out := keyJSON(kc)
	out["@odata.context"] = c.baseURL() + c0(versionOf(c)) + "microsoft.graph.keyCredential"
	c.jsonType(http.StatusOK, out, graphContentType)
}

// removeKey removes a certificate, proven by a proof-of-possession token.
func (e *Emulator) removeKey(c *call, t *tenant, d *directory, a *dirApp) {
	var body struct {
		KeyID string `json:"keyId"`
		Proof string `json:"proof"`
	}
	if raw, err := c.readBody(1 << 16); err != nil || json.Unmarshal(raw, &body) != nil {
		c.graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return
	}
	if msg := e.checkProof(a, body.Proof); msg != "" {
		c.badRequest(msg)
		return
	}
	i := slices.IndexFunc(a.keys, func(k *keyCred) bool { return strings.EqualFold(k.keyID, body.KeyID) })
	if i < 0 {
		c.badRequest("No key credential found with keyId '" + body.KeyID + "'.")
		return
	}
	a.keys = slices.Delete(a.keys, i, i+1)
	e.syncApp(t, d, a)
	c.empty(http.StatusNoContent)
}
