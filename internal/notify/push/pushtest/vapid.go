package pushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// VAPID is a parsed RFC 8292 Authorization header whose signature checked.
type VAPID struct {
	Token  string // the JWT (t=)
	Key    string // the public key (k=), base64url as sent
	Claims Claims
}

// Claims are the JWT claims VAPID uses.
type Claims struct {
	Aud string
	Exp time.Time
	Sub string
}

// ParseVAPID reads "vapid t=<JWT>, k=<key>" and checks the JWT's ES256
// signature against k. It does not judge the claims; see Claims.Check.
func ParseVAPID(header string) (VAPID, error) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return VAPID{}, errors.New(`authorization scheme is not "vapid"`)
	}
	var v VAPID
	for _, p := range strings.Split(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			v.Token = value
		case "k":
			v.Key = value
		}
	}
	if v.Token == "" || v.Key == "" {
		return VAPID{}, errors.New("vapid authorization lacks t= or k=")
	}
	dec := base64.RawURLEncoding
	raw, err := dec.DecodeString(strings.TrimRight(v.Key, "="))
	if err != nil {
		return VAPID{}, fmt.Errorf("k is not base64url: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return VAPID{}, fmt.Errorf("k is not an uncompressed P-256 public key: %w", err)
	}
	parts := strings.Split(v.Token, ".")
	if len(parts) != 3 {
		return VAPID{}, errors.New("t is not a compact JWS (three parts)")
	}
	hb, err := dec.DecodeString(parts[0])
	if err != nil {
		return VAPID{}, fmt.Errorf("JWT header: %w", err)
	}
	var h struct{ Alg, Typ string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return VAPID{}, fmt.Errorf("JWT header: %w", err)
	}
	if h.Alg != "ES256" {
		return VAPID{}, fmt.Errorf("JWT alg is %q, not ES256", h.Alg)
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "JWT") {
		return VAPID{}, fmt.Errorf("JWT typ is %q", h.Typ)
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return VAPID{}, errors.New("JWT signature is not 64 bytes of base64url (r||s)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return VAPID{}, errors.New("JWT signature does not verify with k")
	}
	cb, err := dec.DecodeString(parts[1])
	if err != nil {
		return VAPID{}, fmt.Errorf("JWT claims: %w", err)
	}
	var c struct {
		Aud string      `json:"aud"`
		Exp json.Number `json:"exp"`
		Sub string      `json:"sub"`
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return VAPID{}, fmt.Errorf("JWT claims: %w", err)
	}
	exp, err := c.Exp.Int64()
	if err != nil {
		return VAPID{}, errors.New("JWT exp is not a whole number of seconds")
	}
	v.Claims = Claims{Aud: c.Aud, Exp: time.Unix(exp, 0).UTC(), Sub: c.Sub}
	return v, nil
}

// Check judges the claims as RFC 8292 §2 asks a push service to: aud is the
// push service's origin, exp is in the future and at most 24 hours away. sub
// must be a mailto: or https: URI: RFC 8292 only says SHOULD, but Apple's
// push service refuses a token without one.
func (c Claims) Check(origin string, now time.Time) error {
	switch {
	case c.Aud != origin:
		return fmt.Errorf("JWT aud is %q, not this push service's origin %q", c.Aud, origin)
	case !c.Exp.After(now):
		return fmt.Errorf("JWT expired at %s (now %s)", c.Exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case c.Exp.Sub(now) > 24*time.Hour:
		return fmt.Errorf("JWT exp %s is more than 24 hours after now (%s)", c.Exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !strings.HasPrefix(c.Sub, "mailto:") && !strings.HasPrefix(c.Sub, "https:"):
		return fmt.Errorf("JWT sub %q is neither mailto: nor https:", c.Sub)
	}
	return nil
}
