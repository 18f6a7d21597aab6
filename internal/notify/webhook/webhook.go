// Package webhook is the generic outbound webhook channel: it POSTs each
// notification as JSON to the URL of a member's "webhook" contact method,
// signed with HMAC-SHA256, and refuses targets on private, loopback and
// link-local addresses unless an administrator allows them.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/outbound"
)

// Options configure the channel.
type Options struct {
	// Secret signs every body; receivers check X-Lastmile-Signature.
	Secret []byte
	// AllowPrivate lets targets resolve to private, loopback or link-local
	// addresses (for webhooks inside your own network).
	AllowPrivate bool
	Timeout      time.Duration
	// Clock stamps the payload and the signature (default: the wall clock).
	Clock clock.Clock
}

// Channel sends notifications as webhooks.
type Channel struct {
	opt    Options
	client *http.Client
}

// New returns the webhook channel.
func New(opt Options) *Channel {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	return &Channel{opt: opt, client: notify.GuardedClient(opt.AllowPrivate, opt.Timeout)}
}

// Name is "webhook".
func (c *Channel) Name() string { return "webhook" }

// payload is the JSON body of a notification webhook.
type payload struct {
	ID     string    `json:"id"` // the notification id: receivers de-duplicate on it
	Kind   string    `json:"kind"`
	Round  int       `json:"round"`
	UserID string    `json:"userId"`
	SentAt time.Time `json:"sentAt"`
	Alert  struct {
		ID       string `json:"id"`
		TeamID   string `json:"teamId"`
		Title    string `json:"title"`
		Text     string `json:"text"`
		Severity string `json:"severity,omitempty"`
		URL      string `json:"url,omitempty"`
	} `json:"alert"`
	// Actions are signed, single-use links the receiver may POST to act
	// as the member (acknowledge, close, escalate).
	Actions []action `json:"actions,omitempty"`
}

type action struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Send posts the notification. 4xx answers (but 408 and 429) are permanent.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	u, err := url.Parse(m.Address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", notify.Permanent(fmt.Errorf("webhook address %q is not an http(s) URL", m.Address))
	}
	var p payload
	now := c.opt.Clock.Now()
	p.ID, p.Kind, p.Round, p.UserID, p.SentAt = m.NotificationID, m.Kind, m.Round, m.UserID, now
	p.Alert.ID, p.Alert.TeamID, p.Alert.Title, p.Alert.Text, p.Alert.Severity, p.Alert.URL = m.AlertID, m.TeamID, m.Title, m.Text, m.Severity, m.AlertURL
	for _, a := range m.Actions {
		p.Actions = append(p.Actions, action{Name: a.Name, URL: a.URL})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", notify.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", notify.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lastmile-webhook")
	req.Header.Set("X-Lastmile-Event-Id", m.NotificationID)
	if len(c.opt.Secret) > 0 {
		// The same scheme as outbound webhooks: t=<unix>,v1=<HMAC over
		// "t.body">, so receivers check both the same way and a captured
		// request cannot be replayed later.
		req.Header.Set("X-Lastmile-Signature", outbound.Sign(c.opt.Secret, body, now))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, notify.ErrBlockedAddress) {
			return "", notify.Permanent(err)
		}
		return "", fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return "", notify.Classify("webhook", resp)
}

// Provider is the webhook channel as a provider. Its signing secret and the
// private-address rule come from the server's flags (--webhook-secret,
// --allow-private-webhooks), so it has no settings of its own.
func Provider(opt Options) notify.Provider {
	return notify.Provider{
		Name:     "webhook",
		Channels: []string{"webhook"},
		Build: func(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
			var none struct{}
			if err := notify.DecodeSettings(raw, &none); err != nil {
				return nil, err
			}
			return []notify.Channel{New(opt)}, nil
		},
	}
}
