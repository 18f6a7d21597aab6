package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/teams/teamstest"
)

func newChannel(t *testing.T, raw string) *Channel {
	t.Helper()
	chs, err := Provider().Build(json.RawMessage(raw), notify.Deps{
		Log: slog.New(slog.DiscardHandler), Clock: clock.NewFake(time.Date(2026, 11, 20, 3, 12, 0, 0, time.UTC)),
		BaseURL: "https://lastmile.example", HTTP: http.DefaultClient, Guarded: notify.GuardedClient(true, 5*time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	return chs[0].(*Channel)
}

func alertMessage(address string) notify.Message {
	return notify.Message{
		NotificationID: "n1", AlertID: "a1", TeamID: "t1", TeamName: "Ops", UserID: "u1", Channel: "teams", Address: address,
		Kind: "alert", Round: 1, Title: "Disk full on db1", Text: "Only 2% left on /var", Severity: "high",
		AlertURL: "https://lastmile.example/alerts/a1",
		Actions: []notify.Action{
			{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/a/tok-ack", Token: "tok-ack"},
			{Name: "close", Label: "Close", URL: "https://lastmile.example/a/tok-close", Token: "tok-close"},
		},
	}
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	gb, _ := json.MarshalIndent(g, "", "  ")
	wb, _ := json.MarshalIndent(w, "", "  ")
	if !bytes.Equal(gb, wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}

// envelopeOf wraps card content in the message envelope, for expected JSON.
func envelopeOf(body, actions string) string {
	s := `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":{
	  "$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","msteams":{"width":"Full"},
	  "body":` + body
	if actions != "" {
		s += `,"actions":` + actions
	}
	return s + `}}]}`
}

func TestBuild(t *testing.T) {
	for _, raw := range []string{``, `{}`} {
		if ch := newChannel(t, raw); ch.Name() != "teams" {
			t.Errorf("%q: %s", raw, ch.Name())
		}
	}
	_, err := Provider().Build(json.RawMessage(`{"webhookUrl":"x"}`), notify.Deps{})
	if err == nil || !strings.Contains(err.Error(), "webhookUrl") {
		t.Errorf("an unknown field: %v", err)
	}
	if p := Provider(); p.Name != "teams" || len(p.Channels) != 1 || p.Channels[0] != "teams" || len(p.Secrets) != 0 {
		t.Errorf("provider %+v", p)
	}
}

func TestValidateAddress(t *testing.T) {
	wf := "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=xyz"
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{wf, wf, true},
		{" https://default0123.ab.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/1/triggers/manual/paths/invoke?sig=x#top ",
			"https://default0123.ab.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/1/triggers/manual/paths/invoke?sig=x", true},
		{"https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z", "https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z", true},
		{"http://127.0.0.1:9/workflows/x", "http://127.0.0.1:9/workflows/x", true},
		{"http://prod-12.westeurope.logic.azure.com/workflows/abc", "", false},
		{"teams:oncall", "", false},
		{"", "", false},
	} {
		got, err := ValidateAddress("teams", tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("%q: %q, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "logic.azure.com/workflows/") {
			t.Errorf("the error should show what a Workflows URL looks like: %v", err)
		}
	}
}

func TestSendCard(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	id, err := ch.Send(context.Background(), alertMessage(tm.WorkflowURL("oncall")))
	if err != nil || id != "" {
		t.Fatalf("Send: %q, %v (rejected: %v)", id, err, tm.Rejected())
	}
	cards := tm.Cards()
	if len(cards) != 1 || cards[0].Name != "oncall" || cards[0].Legacy {
		t.Fatalf("cards %+v", cards)
	}
	jsonEqual(t, cards[0].Body, envelopeOf(`[
	  {"type":"Container","style":"attention","bleed":true,"items":[
	    {"type":"TextBlock","text":"Disk full on db1","size":"Large","weight":"Bolder","color":"Attention","wrap":true}]},
	  {"type":"TextBlock","text":"Only 2% left on /var","wrap":true},
	  {"type":"FactSet","facts":[{"title":"Team","value":"Ops"},{"title":"Severity","value":"High"},{"title":"Kind","value":"New alert (round 1)"}]}
	]`, `[
	  {"type":"Action.OpenUrl","title":"Acknowledge","url":"https://lastmile.example/a/tok-ack","style":"positive"},
	  {"type":"Action.OpenUrl","title":"Close","url":"https://lastmile.example/a/tok-close","style":"destructive"},
	  {"type":"Action.OpenUrl","title":"Open in lastmile","url":"https://lastmile.example/alerts/a1"}
	]`))
}

func TestSendEscapesMarkdown(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	m := alertMessage(tm.WorkflowURL("oncall"))
	m.Title = "<script>alert(1)</script> *bold*\nsecond line"
	m.Text = "see [your bank](https://evil.example) & _it_ `code` C:\\temp\nnext"
	m.TeamName = "R_and_D"
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	c := tm.Cards()[0]
	want := []string{
		`<script>alert(1)</script> \*bold\* second line`,
		"see \\[your bank\\](https://evil.example) & \\_it\\_ \\`code\\` C:\\\\temp\n\nnext",
	}
	if len(c.Texts) != 2 || c.Texts[0] != want[0] || c.Texts[1] != want[1] {
		t.Errorf("texts %q\nwant %q", c.Texts, want)
	}
	if c.Facts[0].Value != `R\_and\_D` {
		t.Errorf("team fact %q", c.Facts[0].Value)
	}
	if !bytes.Contains(c.Body, []byte(`\u003cscript\u003e`)) {
		t.Errorf("the JSON should encode < and >: %s", c.Body)
	}
}

func TestSendKinds(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	addr := tm.WorkflowURL("oncall")
	for _, tc := range []struct {
		name string
		m    notify.Message
		want string
	}{
		{"verify", notify.Message{Kind: notify.KindVerify, Code: "123456", Address: addr, Title: "ignored", Actions: alertMessage("").Actions, AlertURL: "https://x.example"},
			envelopeOf(`[{"type":"TextBlock","text":"Your lastmile verification code is **123456**","wrap":true}]`, "")},
		{"bundle", notify.Message{Kind: notify.KindBundle, TeamName: "Ops", Address: addr, AlertURL: "https://lastmile.example/teams/t1/alerts",
			Bundle: []notify.AlertRef{{Title: "Disk full", Severity: "critical"}, {Title: "CPU *hot*", Severity: "low"}}},
			envelopeOf(`[{"type":"Container","style":"emphasis","bleed":true,"items":[{"type":"TextBlock","text":"2 new alerts in Ops","size":"Large","weight":"Bolder","wrap":true}]},
			  {"type":"FactSet","facts":[{"title":"Critical","value":"Disk full"},{"title":"Low","value":"CPU \\*hot\\*"}]}]`,
				`[{"type":"Action.OpenUrl","title":"Open in lastmile","url":"https://lastmile.example/teams/t1/alerts"}]`)},
		{"test", notify.Message{Kind: notify.KindTest, Address: addr},
			envelopeOf(`[{"type":"Container","style":"emphasis","bleed":true,"items":[{"type":"TextBlock","text":"lastmile test notification","size":"Large","weight":"Bolder","wrap":true}]},
			  {"type":"TextBlock","text":"If you can read this, lastmile can reach this Teams channel.","wrap":true}]`, "")},
		{"ack timeout, unknown severity", notify.Message{Kind: "ack_timeout", Title: "Fan", Severity: "bogus", Address: addr},
			envelopeOf(`[{"type":"Container","style":"warning","bleed":true,"items":[{"type":"TextBlock","text":"Fan","size":"Large","weight":"Bolder","color":"Warning","wrap":true}]},
			  {"type":"FactSet","facts":[{"title":"Severity","value":"Medium"},{"title":"Kind","value":"Not acknowledged in time"}]}]`, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tm.Cards())
			if _, err := ch.Send(context.Background(), tc.m); err != nil {
				t.Fatalf("%v (rejected: %v)", err, tm.Rejected())
			}
			jsonEqual(t, tm.Cards()[n].Body, tc.want)
		})
	}
}

func TestSendErrors(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	addr := tm.WorkflowURL("secret-name")
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
		says      string
	}{
		{400, `{"error":{"code":"InvalidRequestContent","message":"bad"}}`, true, "Teams refused the card (400 Bad Request) (InvalidRequestContent)"},
		{401, ``, true, "the Teams workflow URL was refused or no longer exists (401 Unauthorized)"},
		{403, `{"error":{"code":"WorkflowTriggerIsNotEnabled"}}`, true, "refused or no longer exists (403 Forbidden) (WorkflowTriggerIsNotEnabled)"},
		{404, `{"error":{"code":"WorkflowNotFound","message":"The workflow 'secret-name' could not be found."}}`, true, "no longer exists (404 Not Found) (WorkflowNotFound)"},
		{413, ``, true, "413"},
		{429, `{"error":{"code":"WorkflowRequestsThrottled"}}`, false, "429 Too Many Requests (WorkflowRequestsThrottled)"},
		{500, `<html>secret-name</html>`, false, "500"},
		{503, ``, false, "503"},
	} {
		tm.FailNext(tc.status, tc.body)
		_, err := ch.Send(context.Background(), alertMessage(addr))
		if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%d: %v (permanent %v), want permanent=%v saying %q", tc.status, err, notify.IsPermanent(err), tc.permanent, tc.says)
		}
		if err != nil && strings.Contains(err.Error(), "secret-name") {
			t.Errorf("the error repeats the URL or the body: %v", err)
		}
	}
	if n := len(tm.Cards()); n != 0 {
		t.Errorf("%d cards taken while failing", n)
	}
	if _, err := ch.Send(context.Background(), alertMessage("teams:oncall")); !notify.IsPermanent(err) {
		t.Errorf("a bad address: %v", err)
	}
	tm.Close()
	_, err := ch.Send(context.Background(), alertMessage(addr))
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "sig") {
		t.Errorf("a network error: %v: want a retryable error without the URL", err)
	}
}

func TestPrivateTargetsAreRefused(t *testing.T) {
	tm := teamstest.New(t)
	chs, err := Provider().Build(nil, notify.Deps{Guarded: notify.GuardedClient(false, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = chs[0].Send(context.Background(), alertMessage(tm.WorkflowURL("x")))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "private") {
		t.Errorf("a loopback target: %v", err)
	}
	if len(tm.Cards()) != 0 {
		t.Error("a card reached a loopback target")
	}
}

func TestLegacyConnector(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	addr := tm.LegacyURL("old")
	if _, err := ch.Send(context.Background(), alertMessage(addr)); err != nil {
		t.Fatal(err)
	}
	if c := tm.Cards(); len(c) != 1 || !c[0].Legacy {
		t.Fatalf("cards %+v", c)
	}
	// A legacy connector's answer only counts as "1" on a legacy host; the
	// fake listens on 127.0.0.1, so check the mapping itself.
	resp := &http.Response{StatusCode: 200, Status: "200 OK"}
	if err := answerError(resp, []byte("Microsoft Teams endpoint returned HTTP error 429"), true); err == nil || notify.IsPermanent(err) {
		t.Errorf("a legacy 200 with an error text: %v", err)
	}
	for _, body := range []string{"1", ""} {
		if err := answerError(resp, []byte(body), true); err != nil {
			t.Errorf("legacy %q: %v", body, err)
		}
	}
	if err := answerError(&http.Response{StatusCode: 202, Status: "202 Accepted"}, nil, false); err != nil {
		t.Errorf("workflow 202: %v", err)
	}
}

func TestUpdatePostsFollowUp(t *testing.T) {
	tm := teamstest.New(t)
	ch := newChannel(t, `{}`)
	at := time.Date(2026, 11, 20, 3, 12, 0, 0, time.UTC)
	u := notify.Update{AlertID: "a1", Title: "Disk *full*", Status: "acknowledged", By: "ana@example.com", At: at,
		Address: tm.WorkflowURL("oncall"), AlertURL: "https://lastmile.example/alerts/a1"}
	if err := ch.Update(context.Background(), "", u); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, tm.Cards()[0].Body, envelopeOf(
		`[{"type":"TextBlock","text":"✅ Acknowledged by ana@example.com at 03:12 UTC — Disk \\*full\\*","wrap":true}]`,
		`[{"type":"Action.OpenUrl","title":"Open in lastmile","url":"https://lastmile.example/alerts/a1"}]`))
	for status, want := range map[string]string{
		"closed": "🔒 Closed by ana@example.com at 03:12 UTC — Disk \\*full\\*",
		"new":    "↩️ Re-opened by ana@example.com at 03:12 UTC — Disk \\*full\\*",
	} {
		u.Status = status
		if err := ch.Update(context.Background(), "", u); err != nil {
			t.Fatal(err)
		}
		c := tm.Cards()
		if got := c[len(c)-1].Texts; len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", status, got, want)
		}
	}
	u.Address = ""
	if err := ch.Update(context.Background(), "", u); !notify.IsPermanent(err) {
		t.Errorf("no address: %v", err)
	}
	tm.FailNext(429, "")
	u.Address = tm.WorkflowURL("oncall")
	if err := ch.Update(context.Background(), "", u); err == nil || notify.IsPermanent(err) {
		t.Errorf("throttled: %v", err)
	}
}
