package pushtest

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Browser is the receiving half of a push subscription: the P-256 key pair
// and auth secret a browser makes when a page calls pushManager.subscribe.
type Browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

// NewBrowser makes a subscription's keys like a browser: a fresh P-256 key
// pair and 16 random bytes of auth secret.
func NewBrowser() *Browser {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("pushtest: generate key: %v", err))
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &Browser{key: key, auth: auth}
}

// BrowserFromKeys is a browser with given keys (a published test vector):
// the 32-byte private scalar and the 16-byte auth secret.
func BrowserFromKeys(private, auth []byte) (*Browser, error) {
	key, err := ecdh.P256().NewPrivateKey(private)
	if err != nil {
		return nil, err
	}
	if len(auth) != 16 {
		return nil, fmt.Errorf("auth secret is %d bytes, not 16", len(auth))
	}
	return &Browser{key: key, auth: append([]byte(nil), auth...)}, nil
}

// P256dh is the subscription's public key as the browser reports it
// (keys.p256dh): unpadded base64url of the 65-byte uncompressed point.
func (b *Browser) P256dh() string {
	return base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes())
}

// Auth is the subscription's auth secret as the browser reports it
// (keys.auth): unpadded base64url of 16 bytes.
func (b *Browser) Auth() string { return base64.RawURLEncoding.EncodeToString(b.auth) }

// Subscription is PushSubscription.toJSON() for endpoint, serialised as
// JSON.stringify does: what a member saves as a "push" contact method.
func (b *Browser) Subscription(endpoint string) string {
	type keys struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	}
	var out strings.Builder
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // JSON.stringify leaves & and < as they are
	err := enc.Encode(struct {
		Endpoint       string `json:"endpoint"`
		ExpirationTime *int64 `json:"expirationTime"`
		Keys           keys   `json:"keys"`
	}{endpoint, nil, keys{b.P256dh(), b.Auth()}})
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// Decrypt opens a push message body sent to this browser.
func (b *Browser) Decrypt(body []byte) ([]byte, error) { return Decrypt(body, b.key, b.auth) }
