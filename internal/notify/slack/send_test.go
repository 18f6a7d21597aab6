package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
)

func TestSendWebhookMessage(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	hook := e.slack.WebhookURL("oncall")
	id, err := e.ch.Send(context.Background(), alertMessage(hook))
	if err != nil || id != "" {
		t.Fatalf("Send: %q, %v", id, err)
	}
	msgs := e.slack.Messages()
	if len(msgs) != 1 || msgs[0].Via != "webhook" || msgs[0].Path != "/services/T0000/B0000/oncall" {
		t.Fatalf("messages %+v", msgs)
	}
	pt := `{"type":"plain_text","emoji":true,"text":`
	jsonEqual(t, msgs[0].Body, `{
	  "text": "[high] Disk full on db1 — Ops",
	  "blocks": [
	    {"type":"header","text":`+pt+`"Disk full on db1"}},
	    {"type":"section","text":{"type":"mrkdwn","verbatim":true,"text":":red_circle: *High*\nOnly 2% left on /var"}},
	    {"type":"context","elements":[{"type":"mrkdwn","verbatim":true,"text":"Team: Ops · New alert · round 1"}]},
	    {"type":"actions","elements":[
	      {"type":"button","action_id":"lastmile_acknowledge","text":`+pt+`"Acknowledge"},"value":"tok-ack","style":"primary"},
	      {"type":"button","action_id":"lastmile_close","text":`+pt+`"Close"},"value":"tok-close","style":"danger",
	       "confirm":{"title":`+pt+`"Close this alert?"},"text":`+pt+`"Closing ends this alert for everyone in Ops."},
	                  "confirm":`+pt+`"Close"},"deny":`+pt+`"Cancel"},"style":"danger"}},
	      {"type":"button","action_id":"lastmile_escalate","text":`+pt+`"Escalate"},"value":"tok-esc"},
	      {"type":"button","action_id":"lastmile_open","text":`+pt+`"Open"},"url":"https://lastmile.example/alerts/a1"}
	    ]}
	  ],
	  "unfurl_links": false,
	  "unfurl_media": false
	}`)
	for action, token := range map[string]string{"lastmile_acknowledge": "tok-ack", "lastmile_close": "tok-close", "lastmile_escalate": "tok-esc"} {
		if b, ok := msgs[0].Button(action); !ok || b.Value != token {
			t.Errorf("button %s: %+v", action, b)
		}
	}
}

func TestSendWithoutSigningSecretLinksToConfirmPage(t *testing.T) {
	e := newEnv(t, `{}`)
	if _, err := e.ch.Send(context.Background(), alertMessage(e.slack.WebhookURL("x"))); err != nil {
		t.Fatal(err)
	}
	buttons := e.slack.Messages()[0].Buttons()
	want := []struct{ id, url string }{
		{"lastmile_link_acknowledge", "https://lastmile.example/a/tok-ack"},
		{"lastmile_link_close", "https://lastmile.example/a/tok-close"},
		{"lastmile_link_escalate", "https://lastmile.example/a/tok-esc"},
		{"lastmile_open", "https://lastmile.example/alerts/a1"},
	}
	if len(buttons) != len(want) {
		t.Fatalf("buttons %+v", buttons)
	}
	for i, w := range want {
		if b := buttons[i]; b.ActionID != w.id || b.URL != w.url || b.Value != "" || b.Confirm {
			t.Errorf("button %d: %+v, want %s → %s without a value", i, b, w.id, w.url)
		}
	}
}

// mrkdwnTexts collects every string Slack reads as mrkdwn: the fallback
// text and each mrkdwn text object.
func mrkdwnTexts(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "mrkdwn" {
			*out = append(*out, v["text"].(string))
		}
		for _, x := range v {
			mrkdwnTexts(x, out)
		}
	case []any:
		for _, x := range v {
			mrkdwnTexts(x, out)
		}
	}
}

func TestSendEscapesUserText(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	m := alertMessage(e.slack.WebhookURL("x"))
	m.Title = "<script>alert(1)</script> *bold* & <!channel>"
	m.Text = "see <https://evil.example|your bank> and <@U123> & _it_ `code`"
	m.TeamName = "R&D <ops>"
	if _, err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := e.slack.Messages()[0]
	var body map[string]any
	json.Unmarshal(got.Body, &body)
	texts := []string{body["text"].(string)}
	mrkdwnTexts(body["blocks"], &texts)
	for _, s := range texts {
		if strings.ContainsAny(s, "<>") || strings.Contains(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "&amp;", ""), "&lt;", ""), "&gt;", ""), "&") {
			t.Errorf("mrkdwn text not escaped: %q", s)
		}
	}
	if want := "[high] &lt;script&gt;alert(1)&lt;/script&gt; *bold* &amp; &lt;!channel&gt; — R&amp;D &lt;ops&gt;"; body["text"] != want {
		t.Errorf("fallback text %q, want %q", body["text"], want)
	}
	var header struct {
		Text struct{ Type, Text string }
	}
	json.Unmarshal(got.Blocks[0], &header)
	if header.Text.Type != "plain_text" || header.Text.Text != m.Title {
		t.Errorf("the header shows plain text as given: %+v", header)
	}
	var sec struct{ Text struct{ Text string } }
	json.Unmarshal(got.Blocks[1], &sec)
	if want := ":red_circle: *High*\nsee &lt;https://evil.example|your bank&gt; and &lt;@U123&gt; &amp; _it_ `code`"; sec.Text.Text != want {
		t.Errorf("section %q, want %q", sec.Text.Text, want)
	}
}

func TestSendLimits(t *testing.T) {
	e := newEnv(t, `{}`)
	m := alertMessage(e.slack.WebhookURL("x"))
	m.Title = strings.Repeat("é", 400)
	m.Text = strings.Repeat("x", 5000)
	m.Severity = "weird"
	if _, err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Slack's limits were not kept: %v", err)
	}
	var header struct{ Text struct{ Text string } }
	json.Unmarshal(e.slack.Messages()[0].Blocks[0], &header)
	if r := []rune(header.Text.Text); len(r) != maxHeader || r[len(r)-1] != '…' {
		t.Errorf("header of %d characters", len(r))
	}
	if !strings.HasPrefix(e.slack.Messages()[0].Text, "[medium] ") {
		t.Errorf("unknown severity should count as medium: %q", e.slack.Messages()[0].Text)
	}
}

func TestSendKinds(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	hook := e.slack.WebhookURL("x")
	pt := `{"type":"plain_text","emoji":true,"text":`
	for _, tc := range []struct {
		name string
		m    notify.Message
		want string
	}{
		{
			name: "verify",
			m:    notify.Message{Kind: notify.KindVerify, Code: "123456", Address: hook, Title: "ignored", Actions: alertMessage("").Actions},
			want: `{"text":"Your lastmile verification code is 123456","unfurl_links":false,"unfurl_media":false,
			  "blocks":[{"type":"section","text":{"type":"mrkdwn","verbatim":true,"text":"Your lastmile verification code is *123456*"}}]}`,
		},
		{
			name: "bundle",
			m: notify.Message{Kind: notify.KindBundle, TeamName: "Ops", Address: hook, AlertURL: "https://lastmile.example/teams/t1/alerts",
				Bundle: []notify.AlertRef{{ID: "a1", Title: "Disk full", Severity: "critical"}, {ID: "a2", Title: "<b>CPU</b>", Severity: "low"}, {ID: "a3", Title: "Fan"}}},
			want: `{"text":"3 new alerts in Ops","unfurl_links":false,"unfurl_media":false,"blocks":[
			  {"type":"header","text":` + pt + `"3 new alerts in Ops"}},
			  {"type":"section","text":{"type":"mrkdwn","verbatim":true,"text":"• :rotating_light: Disk full\n• :large_yellow_circle: &lt;b&gt;CPU&lt;/b&gt;\n• :large_orange_circle: Fan"}},
			  {"type":"actions","elements":[{"type":"button","action_id":"lastmile_open","text":` + pt + `"Open"},"url":"https://lastmile.example/teams/t1/alerts"}]}]}`,
		},
		{
			name: "test",
			m:    notify.Message{Kind: notify.KindTest, TeamName: "Ops", Address: hook},
			want: `{"text":"lastmile test: lastmile test notification","unfurl_links":false,"unfurl_media":false,"blocks":[
			  {"type":"header","text":` + pt + `"lastmile test notification"}},
			  {"type":"section","text":{"type":"mrkdwn","verbatim":true,"text":"If you can read this, lastmile can reach this Slack destination."}},
			  {"type":"context","elements":[{"type":"mrkdwn","verbatim":true,"text":"Sent by an administrator to check this address — Ops"}]}]}`,
		},
		{
			name: "escalation without team or text",
			m:    notify.Message{Kind: "escalation", Round: 2, Title: "Disk full", Severity: "critical", Address: hook},
			want: `{"text":"[critical] Disk full","unfurl_links":false,"unfurl_media":false,"blocks":[
			  {"type":"header","text":` + pt + `"Disk full"}},
			  {"type":"section","text":{"type":"mrkdwn","verbatim":true,"text":":rotating_light: *Critical*"}},
			  {"type":"context","elements":[{"type":"mrkdwn","verbatim":true,"text":"Escalated · round 2"}]}]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.slack.Messages())
			if _, err := e.ch.Send(context.Background(), tc.m); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, e.slack.Messages()[n].Body, tc.want)
		})
	}
}

func TestSendToChannelWithBotToken(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`","botToken":"xoxb-0000-slacktest"}`)
	id, err := e.ch.Send(context.Background(), alertMessage("channel:C0123ABC"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.slack.Messages()
	if len(msgs) != 1 || msgs[0].Via != "chat.postMessage" || msgs[0].Channel != "C0123ABC" {
		t.Fatalf("messages %+v", msgs)
	}
	if id != "C0123ABC|"+msgs[0].TS {
		t.Errorf("provider id %q, want channel|ts", id)
	}
	if c := e.slack.Calls(); len(c) != 1 || c[0].Method != "chat.postMessage" || !c[0].Authorized {
		t.Errorf("calls %+v", c)
	}
	var body map[string]any
	json.Unmarshal(msgs[0].Body, &body)
	if body["channel"] != "C0123ABC" || body["text"] != "[high] Disk full on db1 — Ops" {
		t.Errorf("body %s", msgs[0].Body)
	}
}

func TestSendToChannelNeedsBotToken(t *testing.T) {
	e := newEnv(t, `{}`)
	_, err := e.ch.Send(context.Background(), alertMessage("channel:C0123ABC"))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "a bot token is needed to post to channel C0123ABC") {
		t.Fatalf("error %v", err)
	}
	if len(e.slack.Calls()) != 0 {
		t.Error("Slack was called without a token")
	}
	if _, err := e.ch.Send(context.Background(), alertMessage("ftp://x")); !notify.IsPermanent(err) {
		t.Errorf("a bad address: %v", err)
	}
}

func TestWebhookErrors(t *testing.T) {
	e := newEnv(t, `{}`)
	hook := e.slack.WebhookURL("secret-part-of-the-url")
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
		says      string
	}{
		{http.StatusBadRequest, "invalid_blocks", true, "Slack refused the message (invalid_blocks)"},
		{http.StatusForbidden, "invalid_token", true, "Slack refused this incoming webhook (invalid_token)"},
		{http.StatusForbidden, "action_prohibited", true, "(action_prohibited)"},
		{http.StatusNotFound, "no_service", true, "does not know this incoming webhook (no_service)"},
		{http.StatusNotFound, "<html>nope</html>", true, "does not know this incoming webhook:"},
		{http.StatusGone, "channel_is_archived", true, "archived (channel_is_archived)"},
		{http.StatusTooManyRequests, "rate_limited", false, "429"},
		{http.StatusInternalServerError, "rollup_error", false, "500"},
		{http.StatusServiceUnavailable, "", false, "503"},
		{http.StatusUnauthorized, "", true, "401"},
	} {
		e.slack.FailNext(tc.status, tc.body)
		_, err := e.ch.Send(context.Background(), alertMessage(hook))
		if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%d %s: error %v (permanent %v), want permanent=%v saying %q", tc.status, tc.body, err, notify.IsPermanent(err), tc.permanent, tc.says)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-part") || strings.Contains(err.Error(), "<html>")) {
			t.Errorf("the error repeats the URL or the body: %v", err)
		}
	}
}

func TestWebhookTransportErrorHidesURL(t *testing.T) {
	e := newEnv(t, `{}`)
	hook := e.slack.WebhookURL("secret-part")
	e.slack.Close()
	_, err := e.ch.Send(context.Background(), alertMessage(hook))
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "secret-part") {
		t.Fatalf("error %v: want a retryable error without the URL", err)
	}
}

func TestWebAPIErrors(t *testing.T) {
	e := newEnv(t, `{"botToken":"xoxb-0000-slacktest"}`)
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
		says      string
	}{
		{200, `{"ok":false,"error":"channel_not_found"}`, true, "Slack cannot find channel C0123ABC"},
		{200, `{"ok":false,"error":"not_in_channel"}`, true, "not a member of channel C0123ABC (not_in_channel)"},
		{200, `{"ok":false,"error":"invalid_auth"}`, true, "Slack refused the bot token (invalid_auth)"},
		{200, `{"ok":false,"error":"missing_scope","needed":"chat:write"}`, true, "add the chat:write scope"},
		{200, `{"ok":false,"error":"is_archived"}`, true, "archived"},
		{200, `{"ok":false,"error":"something_new"}`, true, "(something_new)"},
		{200, `{"ok":false,"error":"ratelimited"}`, false, "(ratelimited)"},
		{200, `{"ok":false,"error":"internal_error"}`, false, "(internal_error)"},
		{200, `<html>proxy</html>`, true, "did not answer with JSON"},
		{429, ``, false, "limiting"},
		{502, ``, false, "502"},
		{404, ``, true, "404"},
	} {
		e.slack.FailNext(tc.status, tc.body)
		_, err := e.ch.Send(context.Background(), alertMessage("channel:C0123ABC"))
		if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%d %s: error %v (permanent %v), want permanent=%v saying %q", tc.status, tc.body, err, notify.IsPermanent(err), tc.permanent, tc.says)
		}
		if err != nil && strings.Contains(err.Error(), "xoxb") {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, `{"botToken":"xoxb-0000-slacktest"}`)
	if err := e.ch.Check(context.Background()); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	bad := newEnv(t, `{"botToken":"xoxb-wrong-token"}`)
	err := bad.ch.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Slack refused the bot token") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Fatalf("a wrong token: %v", err)
	}
	if c := bad.slack.Calls(); len(c) != 1 || c[0].Method != "auth.test" || c[0].Authorized {
		t.Errorf("calls %+v", c)
	}
	none := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	if err := none.ch.Check(context.Background()); err != nil || len(none.slack.Calls()) != 0 {
		t.Errorf("without a bot token: %v, calls %v", err, none.slack.Calls())
	}
}
