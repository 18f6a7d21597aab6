package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

// Channel is the "teams" channel. It is a notify.Channel and Updater.
type Channel struct {
	log    *slog.Logger
	client *http.Client // members' webhook URLs: guarded
}

var (
	_ notify.Channel = (*Channel)(nil)
	_ notify.Updater = (*Channel)(nil)
)

// New returns the channel.
func New(d notify.Deps) *Channel {
	c := &Channel{log: d.Log, client: d.Guarded}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.client == nil {
		c.client = notify.GuardedClient(false, 10*time.Second)
	}
	return c
}

// Name is "teams".
func (c *Channel) Name() string { return "teams" }

// Send posts m as an Adaptive Card. Teams gives no id for it.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	u, err := parseAddress(m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	return "", c.post(ctx, u, render(m))
}

// Update posts a short card saying the alert's status changed: webhooks
// cannot edit a card they posted.
func (c *Channel) Update(ctx context.Context, _ string, up notify.Update) error {
	u, err := parseAddress(up.Address)
	if err != nil {
		return notify.Permanent(fmt.Errorf("no Teams address to post the update to: %w", err))
	}
	return c.post(ctx, u, renderUpdate(up))
}

func (c *Channel) post(ctx context.Context, u *url.URL, env envelope) error {
	// The URL's sig parameter is its credential: PostJSON keeps it out of
	// errors.
	a, err := notify.PostJSON(ctx, c.client, u.String(), "Teams", env, nil)
	if err != nil {
		return err
	}
	return answerError(a.Response(), a.Body, isLegacy(u))
}

var errorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,63}$`)

// answerError maps a webhook's answer to a send error. Workflows answer
// 202, legacy connectors 200 "1"; the error codes of Logic Apps
// ({"error":{"code":…}}) are repeated, other bodies are not.
func answerError(resp *http.Response, body []byte, legacy bool) error {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	code := ""
	if json.Unmarshal(body, &e) == nil && errorCode.MatchString(e.Error.Code) {
		code = " (" + e.Error.Code + ")"
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		// Legacy connectors answered 200 with a text when Teams behind them
		// failed (throttling, mostly): worth another try.
		if t := strings.TrimSpace(string(body)); legacy && t != "" && t != "1" {
			return fmt.Errorf("the Teams connector did not take the message (it answered %q)", truncate(t, 80))
		}
		return nil
	case s == http.StatusBadRequest:
		return notify.Permanent(fmt.Errorf("Teams refused the card (%s)%s", resp.Status, code))
	case s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusNotFound, s == http.StatusGone:
		return notify.Permanent(fmt.Errorf("the Teams workflow URL was refused or no longer exists (%s)%s: create the workflow again and update the address", resp.Status, code))
	}
	err := notify.Classify("Teams", resp)
	if code != "" {
		err = fmt.Errorf("%w%s", err, code)
	}
	return err
}
