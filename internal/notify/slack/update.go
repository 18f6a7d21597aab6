package slack

import (
	"context"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// Update shows an alert's new status on a message posted with the bot
// token (provider id "channel|ts"): the buttons give way to a status line
// and a link to the alert. Messages posted to incoming webhooks cannot be
// edited later; their buttons update them through response_url instead,
// so for them Update does nothing.
func (c *Channel) Update(ctx context.Context, providerID string, u notify.Update) error {
	channel, ts, ok := strings.Cut(providerID, "|")
	if !ok || channel == "" || ts == "" || c.s.BotToken == "" {
		return nil
	}
	msg := renderUpdate(u)
	msg.Channel, msg.TS = channel, ts
	_, err := c.call(ctx, "chat.update", msg, channel)
	return err
}

// renderUpdate is the message an alert's card becomes once its status
// changed. Update carries no action tokens, so a re-opened alert gets a
// link to lastmile rather than its buttons back.
func renderUpdate(u notify.Update) message {
	title := titleOr(u.Title, "Untitled alert")
	line := escape(statusLine(u.Status, u.By, u.At))
	out := message{
		Text:   truncate(line+" — "+escape(title), maxFallback),
		Blocks: []any{header(title)},
	}
	if t := strings.TrimSpace(u.Text); t != "" {
		out.Blocks = append(out.Blocks, section(escape(t)))
	}
	out.Blocks = append(out.Blocks, contextBlock(statusBlockPrefix+"_"+u.At.UTC().Format("20060102T150405"), line))
	if u.AlertURL != "" {
		out.Blocks = append(out.Blocks, block{Type: "actions", Elements: []any{
			button{Type: "button", ActionID: actionPrefix + "open", Text: plain("Open in lastmile"), URL: u.AlertURL},
		}})
	}
	return out
}
