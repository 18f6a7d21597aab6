package twilio

import (
	"context"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

func TestSMSSendRequest(t *testing.T) {
	e := newEnv(t, nil)
	id, err := e.sms.Send(context.Background(), alert())
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.tw.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if id != m.SID || !strings.HasPrefix(id, "SM") {
		t.Errorf("provider id %q, message sid %q", id, m.SID)
	}
	want := map[string]string{
		"To":             "+4915112345678",
		"From":           twiliotest.Number,
		"Body":           "lastmile [Ops]: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate",
		"StatusCallback": e.base + "/callbacks/twilio/status",
	}
	for k, v := range want {
		if got := m.Form[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(m.Form) != len(want) {
		t.Errorf("form has fields beyond %v: %v", want, m.Form)
	}
	reqs := e.tw.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/2010-04-01/Accounts/"+twiliotest.AccountSID+"/Messages.json" ||
		reqs[0].User != twiliotest.AccountSID || !reqs[0].Authorized || reqs[0].Status != 201 {
		t.Errorf("requests %+v", reqs)
	}
}

func TestSMSThroughMessagingService(t *testing.T) {
	const service = "MG0123456789abcdef0123456789abcdef"
	e := newEnv(t, func(s map[string]string) {
		delete(s, "fromNumber")
		s["messagingServiceSid"] = service
	})
	if _, err := e.sms.Send(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	m := e.tw.Messages()[0]
	if m.MessagingServiceSID != service || m.Form.Has("From") {
		t.Errorf("MessagingServiceSid %q, From %q", m.MessagingServiceSID, m.Form["From"])
	}
	if _, err := e.voice.Send(context.Background(), alert()); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "fromNumber") {
		t.Errorf("a call without fromNumber: %v", err)
	}
	if n := len(e.tw.Calls()); n != 0 {
		t.Errorf("%d calls placed", n)
	}
}

func TestSMSBodies(t *testing.T) {
	with := func(f func(*notify.Message)) notify.Message {
		m := alert()
		f(&m)
		return m
	}
	cases := []struct {
		name string
		m    notify.Message
		want string
	}{
		{"alert", alert(), "lastmile [Ops]: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate"},
		{"no reply code", with(func(m *notify.Message) { m.ReplyCode = "" }), "lastmile [Ops]: Disk full on db1 (high). Reply ack / close"},
		{"text", with(func(m *notify.Message) { m.Text = "/var at 99%" }), "lastmile [Ops]: Disk full on db1 (high). /var at 99%. Reply 3a ack, 3c close, 3e escalate"},
		{"only some actions", with(func(m *notify.Message) {
			m.Actions = []notify.Action{{Name: "acknowledge", Label: "Acknowledge"}, {Name: "close", Label: "Close"}}
		}), "lastmile [Ops]: Disk full on db1 (high). Reply 3a ack, 3c close"},
		{"repeat", with(func(m *notify.Message) { m.Kind = "repeat" }), "lastmile [Ops]: Reminder: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate"},
		{"escalation", with(func(m *notify.Message) { m.Kind = "escalation" }), "lastmile [Ops]: Escalated: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate"},
		{"ack timeout", with(func(m *notify.Message) { m.Kind = "ack_timeout" }), "lastmile [Ops]: Not acknowledged yet: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate"},
		{"unknown severity", with(func(m *notify.Message) { m.Severity = "P1" }), "lastmile [Ops]: Disk full on db1 (medium). Reply 3a ack, 3c close, 3e escalate"},
		{"no severity", with(func(m *notify.Message) { m.Severity = "" }), "lastmile [Ops]: Disk full on db1. Reply 3a ack, 3c close, 3e escalate"},
		{"no team", with(func(m *notify.Message) { m.TeamName = "" }), "lastmile: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate"},
		{"link when it fits", with(func(m *notify.Message) { m.AlertURL = "https://lastmile.example/alerts/a1" }),
			"lastmile [Ops]: Disk full on db1 (high). Reply 3a ack, 3c close, 3e escalate https://lastmile.example/alerts/a1"},
		{"bundle", with(func(m *notify.Message) {
			m.Kind = notify.KindBundle
			m.Bundle = []notify.AlertRef{{Title: "Disk full"}, {Title: "CPU hot"}, {Title: "Backup late"}}
		}), "lastmile [Ops]: 3 new alerts: Disk full; CPU hot; Backup late Reply ack all / close all"},
		{"test", notify.Message{Kind: notify.KindTest, Address: "+4915112345678"}, "lastmile test message: SMS from lastmile reach this phone."},
		{"verify", notify.Message{Kind: notify.KindVerify, Code: "123456", Title: "ignored", ReplyCode: "3",
			Actions: []notify.Action{{Name: "acknowledge"}}}, "Your lastmile verification code is 123456"},
	}
	for _, tc := range cases {
		if got := smsBody(tc.m); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestGSMNormalisation(t *testing.T) {
	got := gsmNormalize("“Disk” – full… ‘db1’\n\tnow Grüße, Łódź\u200b")
	want := `"Disk" - full... 'db1' now Grüße, Lodz`
	if got != want || !isGSM(got) {
		t.Errorf("got %q (GSM %v), want %q", got, isGSM(got), want)
	}
	m := alert()
	m.Title = "Can’t reach “db1” — timeout…"
	if body := smsBody(m); !isGSM(body) || !strings.Contains(body, `Can't reach "db1" - timeout...`) {
		t.Errorf("body %q is not plain GSM-7", body)
	}
	if cost("a{b}€", false) != 8 || cost("a😀", true) != 3 {
		t.Error("segment costs are wrong")
	}
}

func TestSMSSegmentCap(t *testing.T) {
	const hint = " Reply 3a ack, 3c close, 3e escalate"
	cases := []struct {
		name      string
		title     string
		text      string
		ucs2      bool
		wantTitle string // a prefix the body must keep
	}{
		{"long title", strings.Repeat("disk full ", 60), "", false, "lastmile [Ops]: disk full disk full"},
		{"long text keeps the title", "Disk full on db1", strings.Repeat("details ", 80), false, "lastmile [Ops]: Disk full on db1 (high). details"},
		{"braces cost two", strings.Repeat("{x}", 150), "", false, "lastmile [Ops]: {x}{x}"},
		{"non-GSM title", "Диск заполнен на сервере db1 " + strings.Repeat("ошибка ", 40), "", true, "lastmile [Ops]: Диск заполнен"},
		{"emoji in the text", "Disk full on db1", "🔥 " + strings.Repeat("details ", 40), true, "lastmile [Ops]: Disk full on db1 (high)."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := alert()
			m.Title, m.Text = tc.title, tc.text
			m.AlertURL = "https://lastmile.example/alerts/a1"
			body := smsBody(m)
			limit := gsmLimit
			if tc.ucs2 {
				limit = ucs2Limit
			}
			if isGSM(body) == tc.ucs2 {
				t.Errorf("GSM-7 %v, want %v", isGSM(body), !tc.ucs2)
			}
			if c := cost(body, tc.ucs2); c > limit || c < limit-40 {
				t.Errorf("costs %d, want close to and at most %d: %q", c, limit, body)
			}
			if !strings.HasSuffix(body, hint) {
				t.Errorf("reply instructions cut: %q", body)
			}
			if !strings.HasPrefix(body, tc.wantTitle) {
				t.Errorf("body %q does not start with %q", body, tc.wantTitle)
			}
			if !strings.Contains(body, "...") && !strings.Contains(body, "…") {
				t.Errorf("no ellipsis where the text was cut: %q", body)
			}
			if strings.Contains(body, "https://") {
				t.Errorf("the link stayed in a cut message: %q", body)
			}
		})
	}
}
