package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/slack/slacktest"
)

// TestSignatureVector checks both signers against Slack's published
// example.
func TestSignatureVector(t *testing.T) {
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	const want = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got := sign(testSecret, "1531420618", body); got != want {
		t.Errorf("sign: %s", got)
	}
	if got := slacktest.Sign(testSecret, "1531420618", body); got != want {
		t.Errorf("slacktest.Sign: %s", got)
	}
	h := http.Header{"X-Slack-Request-Timestamp": {"1531420618"}, "X-Slack-Signature": {want}}
	if err := verify(testSecret, time.Unix(1531420618+299, 0), h, body); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := verify(testSecret, time.Unix(1531420618+301, 0), h, body); !errors.Is(err, errStale) {
		t.Errorf("verify after 5 minutes: %v", err)
	}
}

func TestClickAcknowledgeThenClose(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	ctx := context.Background()
	if _, err := e.ch.Send(ctx, alertMessage(e.slack.WebhookURL("oncall"))); err != nil {
		t.Fatal(err)
	}
	res, err := e.slack.Click(ctx, e.lastmile.URL, testSecret, e.slack.Messages()[0], "lastmile_acknowledge", "ana")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.Body != "" {
		t.Fatalf("answer %d %q, want 200 with an empty body", res.Status, res.Body)
	}
	if got := e.inbound.Redeemed(); len(got) != 1 || got[0] != (redemption{"tok-ack", "via Slack by @ana"}) {
		t.Fatalf("redeemed %+v", got)
	}
	resp := e.slack.Responses()
	if len(resp) != 1 || resp[0].ReplaceOriginal == nil || !*resp[0].ReplaceOriginal {
		t.Fatalf("responses %+v", resp)
	}
	if !strings.HasPrefix(resp[0].Path, "/actions/") {
		t.Errorf("posted to %s, not the click's response_url", resp[0].Path)
	}
	pt := `{"type":"plain_text","emoji":true,"text":`
	jsonEqual(t, resp[0].Body, `{
	  "text": "[high] Disk full on db1 — Ops",
	  "replace_original": true,
	  "blocks": [
	    {"block_id":"blk0","type":"header","text":`+pt+`"Disk full on db1"}},
	    {"block_id":"blk1","type":"section","text":{"type":"mrkdwn","verbatim":true,"text":":red_circle: *High*\nOnly 2% left on /var"}},
	    {"block_id":"blk2","type":"context","elements":[{"type":"mrkdwn","verbatim":true,"text":"Team: Ops · New alert · round 1"}]},
	    {"block_id":"lastmile_status_20261120T031200","type":"context","elements":[{"type":"mrkdwn","verbatim":true,"text":"✅ Acknowledged by @ana at 03:12 UTC"}]},
	    {"block_id":"lastmile_actions_20261120T031200","type":"actions","elements":[
	      {"type":"button","action_id":"lastmile_close","text":`+pt+`"Close"},"value":"tok-close","style":"danger",
	       "confirm":{"title":`+pt+`"Close this alert?"},"text":`+pt+`"Closing ends this alert for everyone in Ops."},
	                  "confirm":`+pt+`"Close"},"deny":`+pt+`"Cancel"},"style":"danger"}},
	      {"type":"button","action_id":"lastmile_escalate","text":`+pt+`"Escalate"},"value":"tok-esc"},
	      {"type":"button","action_id":"lastmile_open","text":`+pt+`"Open"},"url":"https://lastmile.example/alerts/a1"}
	    ]}
	  ]
	}`)

	// A minute later someone closes it from the updated message.
	e.clock.Advance(time.Minute)
	if _, err := e.slack.Click(ctx, e.lastmile.URL, testSecret, resp[0], "lastmile_close", "bo"); err != nil {
		t.Fatal(err)
	}
	if got := e.inbound.Redeemed(); len(got) != 2 || got[1] != (redemption{"tok-close", "via Slack by @bo"}) {
		t.Fatalf("redeemed %+v", got)
	}
	closed := e.slack.Responses()[1]
	var status []string
	for _, raw := range closed.Blocks {
		if strings.Contains(string(raw), "lastmile_status") {
			status = append(status, string(raw))
		}
	}
	if len(status) != 1 || !strings.Contains(status[0], "🔒 Closed by @bo at 03:13 UTC") {
		t.Errorf("status blocks %v: want only the newest", status)
	}
	if b := closed.Buttons(); len(b) != 1 || b[0].ActionID != "lastmile_open" {
		t.Errorf("after closing only the link stays: %+v", b)
	}
}

func TestClickRefusedByLastmile(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		text string
	}{
		{"conflict", apperr.New(apperr.Conflict, "this alert is already closed"), "Could not acknowledge: this alert is already closed"},
		{"details escaped", apperr.WithDetails(apperr.Forbidden, "not allowed", "<!channel> & co"), "Could not acknowledge: not allowed: &lt;!channel&gt; &amp; co"},
		{"internal", errors.New("database is locked at /var/lib/lastmile.db"), "Could not acknowledge: lastmile could not do this just now; try again in a moment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
			e.inbound.errs["tok-ack"] = tc.err
			ctx := context.Background()
			e.ch.Send(ctx, alertMessage(e.slack.WebhookURL("oncall")))
			res, err := e.slack.Click(ctx, e.lastmile.URL, testSecret, e.slack.Messages()[0], "lastmile_acknowledge", "ana")
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("click: %+v %v", res, err)
			}
			resp := e.slack.Responses()
			if len(resp) != 1 {
				t.Fatalf("responses %+v", resp)
			}
			want, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": tc.text})
			jsonEqual(t, resp[0].Body, string(want))
		})
	}
}

func TestForgedClicksAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		click  func(c *slacktest.Click)
		status int
	}{
		{"wrong secret", func(c *slacktest.Click) { c.SigningSecret = "0000000000000000wrongsecret00000" }, 401},
		{"body changed", func(c *slacktest.Click) {
			c.Tamper = func(b []byte) []byte { return bytes.Replace(b, []byte("ana"), []byte("eve"), 1) }
		}, 401},
		{"stale timestamp", func(c *slacktest.Click) { c.At = testNow.Add(-5*time.Minute - time.Second) }, 401},
		{"future timestamp", func(c *slacktest.Click) { c.At = testNow.Add(6 * time.Minute) }, 401},
		{"too large", func(c *slacktest.Click) {
			c.Tamper = func(b []byte) []byte { return append(b, strings.Repeat("x", 64<<10)...) }
		}, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
			ctx := context.Background()
			e.ch.Send(ctx, alertMessage(e.slack.WebhookURL("oncall")))
			c := slacktest.Click{BaseURL: e.lastmile.URL, SigningSecret: testSecret, Message: e.slack.Messages()[0], ActionID: "lastmile_acknowledge", Username: "ana"}
			tc.click(&c)
			res, err := e.slack.ClickWith(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status {
				t.Errorf("status %d, want %d", res.Status, tc.status)
			}
			if r := e.inbound.Redeemed(); len(r) != 0 {
				t.Errorf("a refused click redeemed %+v", r)
			}
			if r := e.slack.Responses(); len(r) != 0 {
				t.Errorf("a refused click answered %+v", r)
			}
		})
	}
}

func TestUnsignedAndOddRequests(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	post := func(body string, h map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, e.lastmile.URL+"/callbacks/slack/interactive", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := func(body string) map[string]string {
		ts := strconv.FormatInt(testNow.Unix(), 10)
		return map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slacktest.Sign(testSecret, ts, []byte(body))}
	}
	payload := func(p string) string { return url.Values{"payload": {p}}.Encode() }
	view := payload(`{"type":"view_submission","actions":[{"action_id":"lastmile_acknowledge","value":"tok-ack"}]}`)
	link := payload(`{"type":"block_actions","user":{"username":"ana"},"actions":[{"action_id":"lastmile_open"}]}`)
	for _, tc := range []struct {
		name   string
		body   string
		h      map[string]string
		status int
	}{
		{"no signature", view, nil, 401},
		{"timestamp not a number", view, map[string]string{"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, 401},
		{"not a block_actions payload", view, signed(view), 200},
		{"a link button", link, signed(link), 200},
		{"not JSON", "payload=%7B", signed("payload=%7B"), 400},
	} {
		if got := post(tc.body, tc.h); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
	}
	if r := e.inbound.Redeemed(); len(r) != 0 {
		t.Errorf("redeemed %+v", r)
	}
	resp, _ := http.Get(e.lastmile.URL + "/callbacks/slack/interactive")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if e.ch.Callback("events") != nil {
		t.Error("an unknown callback path has a handler")
	}

	// Without a signing secret nothing can be checked, so nothing is done.
	open := newEnv(t, `{}`)
	req, _ := http.NewRequest(http.MethodPost, open.lastmile.URL+"/callbacks/slack/interactive", strings.NewReader(view))
	for k, v := range signed(view) {
		req.Header.Set(k, v)
	}
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a signing secret: %d", r2.StatusCode)
	}
}

func TestResponseURLOutsideSlackIsRefused(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer other.Close()
	ctx := context.Background()
	e.ch.Send(ctx, alertMessage(e.slack.WebhookURL("oncall")))
	res, err := e.slack.ClickWith(ctx, slacktest.Click{BaseURL: e.lastmile.URL, SigningSecret: testSecret, Message: e.slack.Messages()[0],
		ActionID: "lastmile_acknowledge", Username: "ana", ResponseURL: other.URL + "/latest/meta-data"})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("click: %+v %v", res, err)
	}
	if len(e.inbound.Redeemed()) != 1 {
		t.Error("a signed click should still be redeemed")
	}
	if hits.Load() != 0 {
		t.Error("lastmile posted to a response_url outside Slack")
	}

	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://hooks.slack.com/actions/T1/2/xyz", true},
		{e.slack.URL + "/actions/T1/2/xyz", true}, // the configured apiUrl's host
		{"http://hooks.slack.com/actions/T1/2/xyz", false},
		{"https://hooks.slack.com.evil.example/actions", false},
		{"https://user@hooks.slack.com/actions", false},
		{"https://slack.com/api/chat.update", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"", false},
	} {
		if got := e.ch.allowedResponseURL(tc.url); got != tc.want {
			t.Errorf("%q allowed = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func TestResponseURLFailureStillAnswersSlack(t *testing.T) {
	e := newEnv(t, `{"signingSecret":"`+testSecret+`"}`)
	ctx := context.Background()
	e.ch.Send(ctx, alertMessage(e.slack.WebhookURL("oncall")))
	e.slack.FailNext(404, "expired_url")
	res, err := e.slack.Click(ctx, e.lastmile.URL, testSecret, e.slack.Messages()[0], "lastmile_acknowledge", "ana")
	if err != nil || res.Status != http.StatusOK || len(e.inbound.Redeemed()) != 1 {
		t.Fatalf("click: %+v %v, redeemed %v", res, err, e.inbound.Redeemed())
	}
}
