// Package ntfy is the ntfy channel: it publishes each notification to a
// member's ntfy topic, with Acknowledge and Close buttons the ntfy app
// performs as HTTP requests against lastmile's signed action links. A
// topic name is published on the configured server (ntfy.sh unless an
// administrator sets another) with its credentials; the full URL of a
// topic on another server is reached through the SSRF-guarded client,
// without credentials.
package ntfy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

// Provider describes the ntfy provider and its one channel, "ntfy".
func Provider() notify.Provider {
	return notify.Provider{
		Name:            "ntfy",
		Channels:        []string{"ntfy"},
		Secrets:         []string{"token", "password"},
		Build:           build,
		ValidateAddress: ValidateAddress,
	}
}

func build(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
	cfg, err := parseSettings(raw)
	if err != nil {
		return nil, err
	}
	ch := &Channel{cfg: cfg, http: d.HTTP, guarded: d.Guarded}
	if ch.http == nil {
		ch.http = &http.Client{Timeout: 15 * time.Second}
	}
	if ch.guarded == nil {
		ch.guarded = notify.GuardedClient(false, 15*time.Second)
	}
	return []notify.Channel{ch}, nil
}

// Channel publishes notifications to ntfy topics.
type Channel struct {
	cfg     *config
	http    *http.Client // the configured server
	guarded *http.Client // servers named in members' addresses
}

// Name is "ntfy".
func (c *Channel) Name() string { return "ntfy" }

// maxAnswer bounds what is read of an ntfy answer.
const maxAnswer = 64 << 10

// Send publishes m to the topic in m.Address and returns ntfy's message id.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	t, err := c.cfg.targetOf(m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	body, err := json.Marshal(c.cfg.build(t.topic, m))
	if err != nil {
		return "", notify.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/", bytes.NewReader(body))
	if err != nil {
		return "", notify.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lastmile")
	client := c.guarded
	if t.own {
		// Credentials go only to the configured server, never to a server
		// a member named.
		c.cfg.authorize(req)
		client = c.http
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, notify.ErrBlockedAddress) {
			return "", notify.Permanent(fmt.Errorf("the ntfy server in the address %s is not allowed: %w", m.Address, err))
		}
		return "", fmt.Errorf("could not reach the ntfy server %s: %w", t.base, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err := c.cfg.publishError(t, resp, answer); err != nil {
		return "", err
	}
	var msg struct {
		ID string `json:"id"`
	}
	json.Unmarshal(answer, &msg)
	return msg.ID, nil
}

func (c *config) authorize(req *http.Request) {
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.username != "":
		req.SetBasicAuth(c.username, c.password)
	}
}

// ntfyError is ntfy's error answer: {"code":40101,"http":401,"error":"unauthorized"}.
type ntfyError struct {
	Code  int    `json:"code"`
	HTTP  int    `json:"http"`
	Error string `json:"error"`
}

// describe says what ntfy answered, with its own words when it gave some.
func describe(resp *http.Response, answer []byte) string {
	var e ntfyError
	if json.Unmarshal(answer, &e) == nil && e.Error != "" {
		if e.Code != 0 {
			return fmt.Sprintf("%s (error %d)", notify.OneLine(e.Error), e.Code)
		}
		return notify.OneLine(e.Error)
	}
	return resp.Status
}

// publishError turns ntfy's answer to a publish into a send error: 401
// and 403 say which credential was refused, 408, 429 and 5xx are retried
// and other 4xx are Permanent.
func (c *config) publishError(t target, resp *http.Response, answer []byte) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		var err error
		switch {
		case !t.own:
			err = fmt.Errorf("the ntfy server %s refused to publish to topic %s: the topic is protected, and lastmile sends its access token only to its configured server (%s)", t.base, t.topic, describe(resp, answer))
		case c.token != "":
			err = fmt.Errorf("ntfy refused the access token for topic %s (%s)", t.topic, describe(resp, answer))
		case c.username != "":
			err = fmt.Errorf("ntfy refused the username and password for topic %s (%s)", t.topic, describe(resp, answer))
		default:
			err = fmt.Errorf("ntfy refused to publish to topic %s without an access token: the topic is protected; set token in the ntfy settings (%s)", t.topic, describe(resp, answer))
		}
		return notify.Permanent(err)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("ntfy could not take the message for topic %s now: %s", t.topic, describe(resp, answer))
	}
	return notify.Permanent(fmt.Errorf("ntfy refused the message for topic %s: %s", t.topic, describe(resp, answer)))
}

// Check asks the configured server whether it is healthy and, with
// credentials, whether it accepts them; it publishes nothing.
func (c *Channel) Check(ctx context.Context) error {
	base := c.cfg.server.String()
	resp, answer, err := c.get(ctx, base+"/v1/health", false)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s does not answer /v1/health like an ntfy server; check serverUrl", base)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the ntfy server %s answered its health check with %s", base, describe(resp, answer))
	}
	var health struct {
		Healthy bool `json:"healthy"`
	}
	if err := json.Unmarshal(answer, &health); err != nil {
		return fmt.Errorf("%s answered /v1/health with something other than ntfy's JSON; check serverUrl", base)
	}
	if !health.Healthy {
		return fmt.Errorf("the ntfy server %s says it is not healthy", base)
	}
	if c.cfg.token == "" && c.cfg.username == "" {
		return nil
	}
	resp, answer, err = c.get(ctx, base+"/v1/account", true)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if c.cfg.token != "" {
			return fmt.Errorf("the ntfy server %s refused the access token (%s)", base, describe(resp, answer))
		}
		return fmt.Errorf("the ntfy server %s refused the username and password (%s)", base, describe(resp, answer))
	}
	return fmt.Errorf("the ntfy server %s answered the account check with %s", base, describe(resp, answer))
}

func (c *Channel) get(ctx context.Context, url string, auth bool) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "lastmile")
	if auth {
		c.cfg.authorize(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("could not reach the ntfy server %s: %w", c.cfg.server, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer of the ntfy server %s: %w", c.cfg.server, err)
	}
	return resp, answer, nil
}

var _ notify.Checker = (*Channel)(nil)
