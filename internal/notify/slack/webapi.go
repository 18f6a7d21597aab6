package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/lastmile/lastmile/internal/notify"
)

// scopeName is what OAuth scopes look like ("chat:write", "a,b").
var scopeName = regexp.MustCompile(`^[a-z][a-z0-9_.:,]{0,63}$`)

// apiResponse holds the fields of Web API answers lastmile reads.
type apiResponse struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Needed  string `json:"needed"` // the scope missing_scope is about
	TS      string `json:"ts"`
	Channel string `json:"channel"`
}

// call posts body as JSON to the Web API method with the bot token. The
// channel, if any, is for error messages.
func (c *Channel) call(ctx context.Context, method string, body any, channel string) (apiResponse, error) {
	var r apiResponse
	var rd io.Reader = http.NoBody
	ctype := "application/x-www-form-urlencoded"
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return r, notify.Permanent(fmt.Errorf("encode Slack %s: %w", method, err))
		}
		rd, ctype = bytes.NewReader(b), "application/json; charset=utf-8"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.APIURL+"/"+method, rd)
	if err != nil {
		return r, notify.Permanent(fmt.Errorf("Slack %s: %w", method, err))
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+c.s.BotToken)
	req.Header.Set("User-Agent", "lastmile")
	resp, err := c.api.Do(req)
	if err != nil {
		return r, fmt.Errorf("Slack %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return r, fmt.Errorf("Slack %s: read the answer: %w", method, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		wait := ""
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			wait = " (retry after " + ra + " s)"
		}
		return r, fmt.Errorf("Slack is limiting how fast lastmile may call %s%s", method, wait)
	}
	if err := notify.Classify("Slack "+method, resp); err != nil {
		return r, err
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, notify.Permanent(fmt.Errorf("Slack %s did not answer with JSON: check apiUrl in the Slack settings", method))
	}
	if !r.OK {
		return r, apiError(method, r.Error, r.Needed, channel)
	}
	return r, nil
}

// apiError turns a Web API error code into plain words: most are
// permanent (a wrong token, channel or message), a few say "try later".
func apiError(method, code, needed, channel string) error {
	if !slackCode.MatchString(code) {
		code = "unknown_error"
	}
	ch := "the channel"
	if channel != "" {
		ch = "channel " + channel
	}
	switch code {
	case "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "timeout":
		return fmt.Errorf("Slack could not handle %s just now (%s)", method, code)
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return notify.Permanent(fmt.Errorf("Slack refused the bot token (%s): check botToken in the Slack settings: %w", code, notify.ErrProviderRefused))
	case "missing_scope":
		scope := ""
		if scopeName.MatchString(needed) {
			scope = ": add the " + needed + " scope under OAuth & Permissions and reinstall the app"
		}
		return notify.Permanent(fmt.Errorf("the bot token lacks a permission Slack needs for %s (missing_scope)%s", method, scope))
	case "channel_not_found":
		return notify.Permanent(fmt.Errorf("Slack cannot find %s, or the app cannot see it (channel_not_found): check the channel ID, and invite the app to private channels", ch))
	case "not_in_channel":
		return notify.Permanent(fmt.Errorf("the Slack app is not a member of %s (not_in_channel): invite it with /invite @<app name>", ch))
	case "is_archived":
		return notify.Permanent(fmt.Errorf("%s is archived (is_archived)", ch))
	case "message_not_found", "cant_update_message", "edit_window_closed":
		return notify.Permanent(fmt.Errorf("Slack cannot update the message (%s)", code))
	case "msg_too_long", "invalid_blocks", "invalid_arguments", "no_text", "too_many_attachments", "invalid_blocks_format":
		return notify.Permanent(fmt.Errorf("Slack refused the message (%s)", code))
	}
	return notify.Permanent(errors.New("Slack refused " + method + " (" + code + ")"))
}
