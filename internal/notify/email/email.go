// Package email is the email channel: it sends each notification as a
// multipart mail (plain text and HTML with Acknowledge and Close buttons)
// through an SMTP server an administrator configures, over STARTTLS or
// implicit TLS, and threads all mails of one alert together.
package email

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
)

// Provider describes the email provider and its one channel, "email".
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "email",
		Channels:        []string{"email"},
		Secrets:         []string{"password"},
		Build:           build,
		ValidateAddress: ValidateAddress,
	}
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	host := baseHost(d.BaseURL)
	cfg, err := parseSettings(raw, host)
	if err != nil {
		return nil, err
	}
	ch := &Channel{cfg: cfg, clock: d.Clock, host: host}
	if ch.clock == nil {
		ch.clock = clock.Real{}
	}
	if ch.host == "" {
		ch.host = "lastmile.invalid"
	}
	return []notify.Channel{ch}, nil
}

func baseHost(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Channel sends notifications by email.
type Channel struct {
	cfg   *config
	clock clock.Clock
	host  string // of the server's base URL, for Message-IDs
}

// Name is "email".
func (c *Channel) Name() string { return "email" }

// Send mails m to m.Address and returns the mail's Message-ID (with its
// angle brackets). A refused recipient or sender, a refused password and
// a TLS misconfiguration are Permanent; 4xx answers and network trouble
// are retried.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	to, err := ValidateAddress("email", m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	msg, id, err := buildMessage(c.cfg.from, to, c.host, c.clock.Now(), m)
	if err != nil {
		return "", notify.Permanent(err)
	}
	s, err := dial(ctx, c.cfg)
	if err != nil {
		return "", err
	}
	if err := s.send(ctx, to, msg); err != nil {
		s.close()
		return "", err
	}
	s.quit()
	return id, nil
}

// Check connects, secures the connection and logs in as configured, then
// says goodbye without sending mail.
func (c *Channel) Check(ctx context.Context) error {
	s, err := dial(ctx, c.cfg)
	if err != nil {
		return err
	}
	s.quit()
	return nil
}

// ValidateAddress checks a member's email address and returns it bare
// and lower-cased ("Ana <Ana@Example.com>" becomes "ana@example.com").
func ValidateAddress(channel, address string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(address))
	if err != nil {
		return "", fmt.Errorf("%q is not an email address like ana@example.com", address)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "", fmt.Errorf("%q is not an email address like ana@example.com", address)
	}
	if strings.HasPrefix(a.Address[at+1:], "[") {
		return "", fmt.Errorf("%q: addresses at an IP address are not supported; use a domain name", address)
	}
	return strings.ToLower(a.Address), nil
}

var _ notify.Checker = (*Channel)(nil)
