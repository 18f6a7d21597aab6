package slack

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// slackCode is what an error word from Slack looks like; anything else in
// a body is not repeated (it could be a proxy's page).
var slackCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// postWebhook posts msg to a member's incoming webhook. Slack answers 200
// "ok", or a status with one error word.
func (c *Channel) postWebhook(ctx context.Context, hook string, msg message) error {
	a, err := notify.PostJSON(ctx, c.guarded, hook, "the Slack webhook", msg, nil)
	if err != nil {
		return err
	}
	return webhookError(a.Response(), strings.TrimSpace(string(a.Body)))
}

// webhookError maps an incoming webhook's answer to a send error.
func webhookError(resp *http.Response, body string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	code := ""
	if slackCode.MatchString(body) {
		code = " (" + body + ")"
	}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return notify.Permanent(fmt.Errorf("Slack refused the message%s", code))
	case http.StatusForbidden:
		return notify.Permanent(fmt.Errorf("Slack refused this incoming webhook%s: it was revoked or its app was removed; create a new incoming webhook and update the address", code))
	case http.StatusNotFound:
		return notify.Permanent(fmt.Errorf("Slack does not know this incoming webhook%s: it was removed; create a new incoming webhook and update the address", code))
	case http.StatusGone:
		return notify.Permanent(fmt.Errorf("the Slack channel of this incoming webhook is archived%s: unarchive it or use another webhook", code))
	}
	err := notify.Classify("Slack", resp)
	if code != "" {
		err = fmt.Errorf("%w%s", err, code)
	}
	return err
}
