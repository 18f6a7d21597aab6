package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

func TestUpdateEditsBotMessages(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`","botToken":"xoxb-0000-slacktest"}`)
	ctx := context.Background()
	id, err := e.ch.Send(ctx, alertMessage("channel:C0123ABC"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 3, 12, 0, 0, time.UTC)
	u := notify.Update{AlertID: "a1", Title: "Disk full <on> db1", Status: "acknowledged", By: "ana@example.com", At: at, AlertURL: "https://lastmile.example/alerts/a1"}
	if err := e.ch.Update(ctx, id, u); err != nil {
		t.Fatal(err)
	}
	ups := e.slack.Updates()
	if len(ups) != 1 {
		t.Fatalf("updates %+v", ups)
	}
	channel, ts, _ := strings.Cut(id, "|")
	pt := `{"type":"plain_text","emoji":true,"text":`
	jsonEqual(t, ups[0].Body, `{"channel":"`+channel+`","ts":"`+ts+`",
	  "text":"✅ Acknowledged by ana@example.com at 03:12 UTC — Disk full &lt;on&gt; db1",
	  "blocks":[
	    {"type":"header","text":`+pt+`"Disk full <on> db1"}},
	    {"type":"context","block_id":"lastmile_status_20261120T031200","elements":[{"type":"mrkdwn","verbatim":true,"text":"✅ Acknowledged by ana@example.com at 03:12 UTC"}]},
	    {"type":"actions","elements":[{"type":"button","action_id":"lastmile_open","text":`+pt+`"Open in lastmile"},"url":"https://lastmile.example/alerts/a1"}]}
	  ]}`)
	if got := e.slack.Messages()[0]; got.Via != "chat.postMessage" || len(got.Buttons()) != 1 {
		t.Errorf("the message in Slack still has its buttons: %+v", got.Buttons())
	}

	for status, line := range map[string]string{"closed": "🔒 Closed by ana@example.com at 03:12 UTC", "new": "↩️ Re-opened by ana@example.com at 03:12 UTC"} {
		u.Status = status
		if err := e.ch.Update(ctx, id, u); err != nil {
			t.Fatal(err)
		}
		last := e.slack.Updates()[len(e.slack.Updates())-1]
		if !strings.Contains(string(last.Blocks[1]), line) {
			t.Errorf("%s: %s, want %q", status, last.Blocks[1], line)
		}
		if b, ok := last.Button("lastmile_open"); !ok || b.Text != "Open in lastmile" {
			t.Errorf("%s: buttons %+v", status, last.Buttons())
		}
	}

	err = e.ch.Update(ctx, "C0123ABC|1.0", u)
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("an unknown message: %v", err)
	}
}

func TestUpdateWithoutBotMessageDoesNothing(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	u := notify.Update{Status: "acknowledged", By: "ana", At: testNow}
	for _, id := range []string{"", "C0123ABC|1700000000.000100", "garbage"} {
		if err := e.ch.Update(context.Background(), id, u); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	if c := e.slack.Calls(); len(c) != 0 {
		t.Errorf("calls without a bot token: %+v", c)
	}
}
