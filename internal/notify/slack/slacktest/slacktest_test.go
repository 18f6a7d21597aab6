package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, u, ctype, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestWebhookChecksLikeSlack(t *testing.T) {
	s := New(t, Options{})
	hook := s.WebhookURL("oncall")
	button := func(extra string) string {
		return `{"blocks":[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"Go"}` + extra + `}]}]}`
	}
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		answer            string
	}{
		{"text", "application/json", `{"text":"hi"}`, 200, "ok"},
		{"not JSON", "application/json", `{`, 400, "invalid_payload"},
		{"form", "application/x-www-form-urlencoded", `payload=%7B%7D`, 400, "invalid_payload"},
		{"nothing to show", "application/json", `{"text":" "}`, 400, "no_text"},
		{"long header", "application/json", `{"blocks":[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("x", 151) + `"}}]}`, 400, "invalid_blocks"},
		{"mrkdwn header", "application/json", `{"blocks":[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]}`, 400, "invalid_blocks"},
		{"unknown block", "application/json", `{"blocks":[{"type":"carousel"}]}`, 400, "invalid_blocks"},
		{"button ok", "application/json", button(`,"value":"v","style":"primary"`), 200, "ok"},
		{"button style", "application/json", button(`,"style":"green"`), 400, "invalid_blocks"},
		{"button value too long", "application/json", button(`,"value":"` + strings.Repeat("v", 2001) + `"`), 400, "invalid_blocks"},
		{"button relative url", "application/json", button(`,"url":"/x"`), 400, "invalid_blocks"},
	} {
		status, answer := post(t, hook, tc.ctype, "", tc.body)
		if status != tc.status || answer != tc.answer {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, answer, tc.status, tc.answer)
		}
	}
	if m := s.Messages(); len(m) != 2 || m[0].Text != "hi" || m[0].Path != "/services/T0000/B0000/oncall" || m[1].Buttons()[0].Value != "v" {
		t.Errorf("messages %+v", m)
	}
	s.FailNext(404, "no_service")
	if status, answer := post(t, hook, "application/json", "", `{"text":"hi"}`); status != 404 || answer != "no_service" {
		t.Errorf("FailNext: %d %q", status, answer)
	}
}

func TestWebAPI(t *testing.T) {
	s := New(t, Options{BotToken: "xoxb-right"})
	api := s.APIURL()
	answer := func(status int, body string) map[string]any {
		t.Helper()
		var v map[string]any
		if status != 200 || json.Unmarshal([]byte(body), &v) != nil {
			t.Fatalf("answer %d %s", status, body)
		}
		return v
	}
	if v := answer(post(t, api+"/auth.test", "application/x-www-form-urlencoded", "", "")); v["error"] != "not_authed" {
		t.Errorf("no token: %v", v)
	}
	if v := answer(post(t, api+"/auth.test", "application/x-www-form-urlencoded", "xoxb-wrong", "")); v["error"] != "invalid_auth" {
		t.Errorf("wrong token: %v", v)
	}
	if v := answer(post(t, api+"/auth.test", "application/x-www-form-urlencoded", "", "token=xoxb-right")); v["ok"] != true {
		t.Errorf("form token: %v", v)
	}
	v := answer(post(t, api+"/chat.postMessage", "application/json", "xoxb-right", `{"channel":"C1","text":"hi"}`))
	ts, _ := v["ts"].(string)
	if v["ok"] != true || v["channel"] != "C1" || ts == "" {
		t.Fatalf("postMessage: %v", v)
	}
	form := url.Values{"token": {"xoxb-right"}, "channel": {"C2"}, "blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"*x*"}}]`}}
	if v := answer(post(t, api+"/chat.postMessage", "application/x-www-form-urlencoded", "", form.Encode())); v["ok"] != true {
		t.Errorf("form postMessage: %v", v)
	}
	if v := answer(post(t, api+"/chat.update", "application/json", "xoxb-right", `{"channel":"C1","ts":"`+ts+`","text":"edited"}`)); v["ok"] != true {
		t.Errorf("update: %v", v)
	}
	if v := answer(post(t, api+"/chat.update", "application/json", "xoxb-right", `{"channel":"C1","ts":"1.2","text":"x"}`)); v["error"] != "message_not_found" {
		t.Errorf("update of nothing: %v", v)
	}
	if v := answer(post(t, api+"/chat.postMessage", "application/json", "xoxb-right", `{"text":"hi"}`)); v["error"] != "channel_not_found" {
		t.Errorf("no channel: %v", v)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].Text != "edited" || msgs[0].Via != "chat.postMessage" || len(msgs[1].Blocks) != 1 || strings.Contains(string(msgs[1].Body), "xoxb") {
		t.Errorf("messages %+v", msgs)
	}
	if u := s.Updates(); len(u) != 1 || u[0].TS != ts {
		t.Errorf("updates %+v", u)
	}
	calls := s.Calls()
	if len(calls) != 8 || calls[0].Authorized || calls[2].Error != "" || !calls[2].Authorized {
		t.Errorf("calls %+v", calls)
	}
}
