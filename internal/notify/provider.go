package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
)

// Provider describes one kind of channel an administrator configures, with
// one settings document (Twilio's settings serve both sms and voice).
type Provider struct {
	// Name keys the settings: push, ntfy, twilio, email, slack, teams, webhook.
	Name string
	// Channels are the channel names the provider serves.
	Channels []string
	// Secrets are the settings' top-level JSON fields that are never shown
	// again once saved (API tokens, passwords, signing secrets).
	Secrets []string
	// Build checks the settings (strictly: an unknown field is an error
	// that names it) and returns the channels. raw is "{}" when an
	// administrator has saved nothing.
	Build func(raw json.RawMessage, d Deps) ([]Channel, error)
	// ValidateAddress, if set, checks a member's address on one of the
	// provider's channels when it is saved and returns its canonical
	// form; its error says what is wrong in plain words.
	ValidateAddress func(channel, address string) (string, error)
}

// ErrProviderRefused marks a permanent error that is the provider's (or
// its settings') fault, not the address's: refused credentials, a
// suspended account. Administrators see such errors on the provider.
var ErrProviderRefused = errors.New("the provider refused the credentials or the account")

// ErrNotConfigured is returned by Build when the settings lack what the
// provider needs (no Twilio account yet): its channels then write to the
// log, and sending a test notification says so.
var ErrNotConfigured = errors.New("not configured")

// DecodeSettings reads a settings document strictly into v: an unknown
// field is an error naming it, so a typo never silently disables a
// setting.
func DecodeSettings(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	// encoding/json matches names regardless of case; settings must be
	// spelt exactly, so "serverURL" for "serverUrl" is named, not taken.
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	known := jsonNames(reflect.TypeOf(v))
	for name := range fields {
		if known == nil || slices.Contains(known, name) {
			continue
		}
		for _, k := range known {
			if strings.EqualFold(k, name) {
				return fmt.Errorf("settings: unknown field %q; did you mean %q?", name, k)
			}
		}
		return fmt.Errorf("settings: unknown field %q", name)
	}
	return nil
}

// jsonNames lists the JSON names of a struct's fields (nil if t is not a
// pointer to a struct).
func jsonNames(t reflect.Type) []string {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	names := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// Deps is what a provider's channels may use.
type Deps struct {
	Log   *slog.Logger
	Clock clock.Clock
	// BaseURL is where providers and recipients reach this server
	// (callbacks, action links), without a trailing slash.
	BaseURL string
	// HTTP is for calls to the provider's own API, at the address an
	// administrator configured.
	HTTP *http.Client
	// Guarded is for calls to addresses members entered (chat webhook
	// URLs): it refuses private, loopback and link-local targets unless
	// an administrator allows them.
	Guarded *http.Client
	// Keys keeps server-wide key material, encrypted at rest.
	Keys Keys
	// Inbound is what callbacks call.
	Inbound Inbound
}

// Callbacks is a channel that takes its provider's callbacks (SMS
// replies, keypresses, delivery reports, button clicks). A request to
// /callbacks/<provider>/<path> goes to Callback(path) of the provider's
// current channel, so new settings (a rotated auth token) apply at once.
// The handler checks the provider's signature before anything else.
type Callbacks interface {
	Callback(path string) http.Handler // nil: no such callback
}

// Keys keeps named key material shared by every instance of the server.
type Keys interface {
	// GetOrCreate returns the key named name, creating it with gen the
	// first time any instance asks.
	GetOrCreate(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}

// ErrBlockedAddress marks a target on an address that is not allowed.
var ErrBlockedAddress = errors.New("target resolves to a private, loopback or link-local address; an administrator can allow these")

// GuardedClient returns an HTTP client that refuses to connect to private,
// loopback, link-local and multicast addresses (unless allowPrivate), and
// does not follow redirects. The address checked is the one dialled, after
// DNS resolution, so a name that resolves (or re-resolves) to an internal
// address is refused too.
func GuardedClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: guard(allowPrivate)}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 32, Proxy: nil}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func guard(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
			return ErrBlockedAddress
		}
		return nil
	}
}

// Classify turns a provider's HTTP status into a send error: nil for 2xx,
// a retryable error for 408, 429 and 5xx, and a Permanent one otherwise.
func Classify(what string, resp *http.Response) error {
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return errors.New(what + " answered " + resp.Status)
	default:
		return Permanent(errors.New(what + " answered " + resp.Status))
	}
}
