package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

// keyName is the server-wide key under which the VAPID private key is kept.
// Its value is the raw 32-byte big-endian P-256 scalar, the form
// ecdsa.PrivateKey.Bytes returns (and what `web-push generate-vapid-keys`
// prints, base64url-encoded).
const keyName = "vapid"

// tokenLifetime is how long a VAPID JWT is valid: RFC 8292 allows up to 24
// hours; half of that leaves room for a push service whose clock is ahead.
const tokenLifetime = 12 * time.Hour

// vapidKey is the application server's signing key.
type vapidKey struct {
	priv *ecdsa.PrivateKey
	k    string // base64url uncompressed public key
}

func generateVAPID() ([]byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return priv.Bytes()
}

func loadVAPID(ctx context.Context, keys notify.Keys) (*vapidKey, error) {
	if keys == nil {
		return nil, fmt.Errorf("push: no key store to keep the VAPID key in: %w", notify.ErrNotConfigured)
	}
	raw, err := keys.GetOrCreate(ctx, keyName, generateVAPID)
	if err != nil {
		return nil, fmt.Errorf("push: load the VAPID key: %w", err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("push: the stored VAPID key is not a P-256 private key: %w", err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("push: VAPID public key: %w", err)
	}
	return &vapidKey{priv: priv, k: base64.RawURLEncoding.EncodeToString(pub)}, nil
}

// PublicKey returns the server's VAPID public key, creating the key pair the
// first time: base64url (unpadded) of the 65-byte uncompressed P-256 point,
// which the web app passes to pushManager.subscribe as applicationServerKey.
func PublicKey(ctx context.Context, keys notify.Keys) (string, error) {
	v, err := loadVAPID(ctx, keys)
	if err != nil {
		return "", err
	}
	return v.k, nil
}

// authorization is the RFC 8292 Authorization header for a push service at
// aud (an origin).
func (v *vapidKey) authorization(aud, sub string, now time.Time) (string, error) {
	t, err := v.token(aud, sub, now.Add(tokenLifetime))
	if err != nil {
		return "", err
	}
	return "vapid t=" + t + ", k=" + v.k, nil
}

// token is an ES256 JWT (RFC 7515/7518) with the VAPID claims.
func (v *vapidKey) token(aud, sub string, exp time.Time) (string, error) {
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub,omitempty"`
	}{aud, exp.Unix(), sub})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, v.priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign VAPID token: %w", err)
	}
	// JWS wants r and s as fixed-width 32-byte halves, not ASN.1.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}
