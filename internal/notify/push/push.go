// Package push is the Web Push channel: it encrypts each notification for a
// browser's push subscription (RFC 8291, aes128gcm), signs the request with
// the server's VAPID key (RFC 8292) and posts it to the subscription's push
// service (RFC 8030), which wakes the browser's service worker.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
)

// Settings are the push provider's settings; every field is optional.
type Settings struct {
	// Subject is the VAPID contact (a mailto: or https: URI) push services
	// use to reach the operator of a misbehaving server.
	Subject string `json:"subject,omitempty"`
	// TTLSeconds is how long a push service keeps a message for a browser
	// that is offline: 0 means deliver now or drop. Default 86400.
	TTLSeconds *int `json:"ttlSeconds,omitempty"`
	// Urgency is for alerts below high severity (high and critical alerts
	// are always sent with urgency high): very-low, low, normal or high.
	// Default high, so that pages are not held back by battery savers.
	Urgency string `json:"urgency,omitempty"`
}

const (
	defaultTTL     = 86400
	maxTTL         = 2419200 // 28 days, what FCM keeps at most
	defaultUrgency = "high"
	// fallbackSubject is used when no subject is set and the base URL is
	// not https. Apple's push service refuses it: set a subject.
	fallbackSubject = "mailto:lastmile@localhost"
)

// Provider describes the push provider.
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "push",
		Channels:        []string{"push"},
		Build:           build,
		ValidateAddress: validateAddress,
	}
}

// Channel sends Web Push notifications.
type Channel struct {
	subject string
	ttl     int
	urgency string
	deps    notify.Deps

	mu  sync.Mutex
	key *vapidKey // loaded on first use, then kept
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	c, err := New(raw, d)
	if err != nil {
		return nil, err
	}
	return []notify.Channel{c}, nil
}

// New checks the settings and returns the channel.
func New(raw json.RawMessage, d notify.Deps) (*Channel, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	c := &Channel{subject: s.Subject, ttl: defaultTTL, urgency: defaultUrgency, deps: d}
	if s.TTLSeconds != nil {
		if *s.TTLSeconds < 0 || *s.TTLSeconds > maxTTL {
			return nil, fmt.Errorf("settings: ttlSeconds must be between 0 and %d (28 days)", maxTTL)
		}
		c.ttl = *s.TTLSeconds
	}
	if s.Urgency != "" {
		switch s.Urgency {
		case "very-low", "low", "normal", "high":
			c.urgency = s.Urgency
		default:
			return nil, fmt.Errorf("settings: urgency must be one of very-low, low, normal, high (got %q)", s.Urgency)
		}
	}
	if c.subject == "" {
		c.subject = defaultSubject(d.BaseURL)
	} else if err := checkSubject(c.subject); err != nil {
		return nil, err
	}
	if d.Guarded == nil {
		return nil, errors.New("push: no HTTP client for push services")
	}
	if d.Keys == nil {
		return nil, fmt.Errorf("push: no key store to keep the VAPID key in: %w", notify.ErrNotConfigured)
	}
	if c.deps.Clock == nil {
		c.deps.Clock = clock.Real{}
	}
	if c.deps.Log == nil {
		c.deps.Log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func defaultSubject(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Scheme == "https" && u.Host != "" {
		return "https://" + u.Host
	}
	return fallbackSubject
}

func checkSubject(s string) error {
	switch {
	case strings.HasPrefix(s, "mailto:"):
		if at := strings.LastIndex(s, "@"); at <= len("mailto:") || at == len(s)-1 {
			return errors.New("settings: subject must be a mailto: address (mailto:ops@example.com) or an https: URL")
		}
	case strings.HasPrefix(s, "https://"):
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			return errors.New("settings: subject must be a mailto: address (mailto:ops@example.com) or an https: URL")
		}
	default:
		return errors.New("settings: subject must start with mailto: or https:")
	}
	return nil
}

// Name is "push".
func (c *Channel) Name() string { return "push" }

// Check loads the VAPID key, creating it the first time.
func (c *Channel) Check(ctx context.Context) error {
	_, err := c.vapid(ctx)
	return err
}

func (c *Channel) vapid(ctx context.Context) (*vapidKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	k, err := loadVAPID(ctx, c.deps.Keys)
	if err != nil {
		return nil, err
	}
	c.key = k
	return k, nil
}

// urgencyFor is high for high and critical alerts (and for verification
// codes someone is waiting for), the configured urgency otherwise.
func (c *Channel) urgencyFor(m notify.Message) string {
	sev := severity(m.Severity)
	if m.Kind == notify.KindBundle {
		sev = bundleSeverity(m.Bundle)
	}
	if m.Kind == notify.KindVerify || sev == "high" || sev == "critical" {
		return "high"
	}
	return c.urgency
}
