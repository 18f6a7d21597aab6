package push

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// maxAddress bounds a stored subscription: real ones are a few hundred
// bytes, the endpoint being the longest part.
const maxAddress = 4096

// subscriptionJSON is a browser's PushSubscription.toJSON(): where to send
// and the keys to encrypt for.
type subscriptionJSON struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is epoch milliseconds, or null (what every major
	// browser sends today). It is kept, not acted on: the push service
	// answers 404/410 once a subscription has expired.
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// subscription is a parsed, checked Subscription.
type subscription struct {
	endpoint *url.URL
	uaPublic []byte // 65-byte uncompressed P-256 point
	auth     []byte // 16 bytes
	raw      subscriptionJSON
}

func validateAddress(channel, address string) (string, error) {
	if channel != "push" {
		return "", fmt.Errorf("the push provider has no channel %q", channel)
	}
	s, err := parseSubscription(address)
	if err != nil {
		return "", err
	}
	return s.canonical()
}

func parseSubscription(address string) (*subscription, error) {
	if len(address) > maxAddress {
		return nil, fmt.Errorf("push subscription: longer than %d bytes; paste the browser's PushSubscription JSON as it is", maxAddress)
	}
	var raw subscriptionJSON
	dec := json.NewDecoder(strings.NewReader(address))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("push subscription: not the JSON of a browser's PushSubscription: %w", err)
	}
	if dec.More() {
		return nil, errors.New("push subscription: more than one JSON value")
	}
	if raw.Endpoint == "" {
		return nil, errors.New("push subscription: endpoint is missing")
	}
	u, err := url.Parse(raw.Endpoint)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("push subscription: endpoint must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		// Only a push service on this machine (a test double) may use
		// plain http: anywhere else the JWT and payload would travel in
		// the clear.
		if !loopbackHost(u.Hostname()) {
			return nil, errors.New("push subscription: endpoint must be an https URL")
		}
	default:
		return nil, errors.New("push subscription: endpoint must be an absolute https URL")
	}
	if u.User != nil {
		return nil, errors.New("push subscription: endpoint must not carry a user name or password")
	}
	if raw.ExpirationTime != nil && *raw.ExpirationTime < 0 {
		return nil, errors.New("push subscription: expirationTime must be null or epoch milliseconds")
	}
	if raw.Keys.P256dh == "" {
		return nil, errors.New("push subscription: keys.p256dh is missing")
	}
	pub, err := decodeKey(raw.Keys.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pub) // also rejects points off the curve
	}
	if err != nil {
		return nil, errors.New("push subscription: keys.p256dh must be a P-256 public key (65 bytes of base64url)")
	}
	if raw.Keys.Auth == "" {
		return nil, errors.New("push subscription: keys.auth is missing")
	}
	auth, err := decodeKey(raw.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return nil, errors.New("push subscription: keys.auth must be 16 bytes of base64url")
	}
	return &subscription{endpoint: u, uaPublic: pub, auth: auth, raw: raw}, nil
}

// canonical is the compact JSON kept as the contact method's address, with
// the keys re-encoded as unpadded base64url (what browsers send).
func (s *subscription) canonical() (string, error) {
	c := s.raw
	c.Keys.P256dh = base64.RawURLEncoding.EncodeToString(s.uaPublic)
	c.Keys.Auth = base64.RawURLEncoding.EncodeToString(s.auth)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // an endpoint's & stays readable
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("push subscription: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeKey reads base64url, padded or not; standard base64 is accepted too
// because some client libraries re-encode the keys that way.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin is the RFC 6454 origin of u (scheme://host[:port], the port only
// when not the scheme's default): the VAPID audience.
func origin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return strings.ToLower(u.Scheme) + "://" + host
	}
	return strings.ToLower(u.Scheme) + "://" + host + ":" + port
}
