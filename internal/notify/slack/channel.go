package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
)

// Channel is the "slack" channel. It is a notify.Channel, Checker,
// Updater and Callbacks.
type Channel struct {
	s       Settings
	log     *slog.Logger
	clock   clock.Clock
	api     *http.Client // Slack's Web API and response_url posts
	guarded *http.Client // members' incoming webhook URLs
	inbound notify.Inbound
}

var (
	_ notify.Channel   = (*Channel)(nil)
	_ notify.Checker   = (*Channel)(nil)
	_ notify.Updater   = (*Channel)(nil)
	_ notify.Callbacks = (*Channel)(nil)
)

// New checks s and returns the channel.
func New(s Settings, d notify.Deps) (*Channel, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("slack settings: %w", err)
	}
	c := &Channel{s: s, log: d.Log, clock: d.Clock, api: d.HTTP, guarded: d.Guarded, inbound: d.Inbound}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.api == nil {
		c.api = &http.Client{Timeout: 10 * time.Second}
	}
	if c.guarded == nil {
		c.guarded = notify.GuardedClient(false, 10*time.Second)
	}
	return c, nil
}

// Name is "slack".
func (c *Channel) Name() string { return "slack" }

// Send posts m to its address: an incoming webhook, or a channel through
// the Web API. For the latter the provider id is "channel|ts", what
// Update needs to edit the message.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	a, err := parseAddress(m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	msg := render(m, c.s.SigningSecret != "")
	f := false
	msg.UnfurlLinks, msg.UnfurlMedia = &f, &f
	if a.webhook != "" {
		return "", c.postWebhook(ctx, a.webhook, msg)
	}
	if c.s.BotToken == "" {
		return "", notify.Permanent(fmt.Errorf("a bot token is needed to post to channel %s: add botToken to the Slack settings, or use an incoming webhook URL as the address", a.channel))
	}
	msg.Channel = a.channel
	r, err := c.call(ctx, "chat.postMessage", msg, a.channel)
	if err != nil {
		return "", err
	}
	ch := r.Channel
	if ch == "" {
		ch = a.channel
	}
	if r.TS == "" {
		return "", nil
	}
	return ch + "|" + r.TS, nil
}

// Check asks Slack whether the bot token works. Without a bot token there
// is nothing to ask: signing secrets cannot be checked until Slack signs
// something.
func (c *Channel) Check(ctx context.Context) error {
	if c.s.BotToken == "" {
		return nil
	}
	_, err := c.call(ctx, "auth.test", nil, "")
	return err
}

// Callback returns the handler of a Slack callback: "interactive" takes
// button clicks.
func (c *Channel) Callback(path string) http.Handler {
	if path == "interactive" {
		return http.HandlerFunc(c.interactive)
	}
	return nil
}
