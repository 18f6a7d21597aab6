package twilio

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

func TestVoiceSendRequest(t *testing.T) {
	e := newEnv(t, nil)
	id, err := e.voice.Send(context.Background(), alert())
	if err != nil {
		t.Fatal(err)
	}
	calls := e.tw.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if id != c.SID || !strings.HasPrefix(id, "CA") {
		t.Errorf("provider id %q, call sid %q", id, c.SID)
	}
	if c.To != "+4915112345678" || c.From != twiliotest.Number || c.Method != "POST" || c.Timeout != "30" ||
		c.StatusCallback != e.base+"/callbacks/twilio/status" || c.StatusCallbackMethod != "POST" ||
		!reflect.DeepEqual(c.StatusCallbackEvents, []string{"answered", "completed"}) {
		t.Errorf("call %+v", c)
	}
	u, err := url.Parse(c.URL)
	if err != nil || !strings.HasPrefix(c.URL, e.base+"/callbacks/twilio/voice?") || u.Query().Get("n") != "n1" {
		t.Fatalf("Url %q", c.URL)
	}
	sc, err := decodeScript(u.Query().Get("t"))
	want := script{Title: "Disk full on db1", Severity: "high", Team: "Ops", Kind: "alert", Actions: "ace"}
	if err != nil || sc != want {
		t.Errorf("script %+v, %v; want %+v", sc, err, want)
	}
	if len(c.Form) != 8 {
		t.Errorf("unexpected fields: %v", c.Form)
	}
}

func TestVoiceURLStaysShort(t *testing.T) {
	e := newEnv(t, nil)
	m := alert()
	m.Title = strings.Repeat("极长的标题 <&> ", 400)
	m.TeamName = strings.Repeat("team ", 100)
	if _, err := e.voice.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	c := e.tw.Calls()[0]
	if len(c.URL) > maxVoiceURL {
		t.Errorf("Url is %d long", len(c.URL))
	}
	doc, err := answer(t, e, c.SID)
	if err != nil || doc.Gather == nil || !strings.Contains(doc.Gather.Says[0], "极长的标题 <&>") {
		t.Errorf("TwiML %+v, %v", doc, err)
	}
}

// answer picks up the call and parses what it says.
func answer(t *testing.T, e *env, sid string) (twiliotest.TwiML, error) {
	t.Helper()
	body, err := e.tw.Answer(context.Background(), sid)
	if err != nil {
		return twiliotest.TwiML{}, err
	}
	return twiliotest.ParseTwiML(body)
}

func TestVoiceMenu(t *testing.T) {
	const intro = "Alert from lastmile, team Ops. Disk full on db1. Severity high. Press 4 to acknowledge, 6 to close, 5 to escalate, star to repeat."
	cases := []struct {
		name        string
		digits      string
		result      notify.Result
		respondErr  error
		wantRespond []string // Respond's arguments, nil if not called
		wantSays    []string
		wantGather  bool
	}{
		{"acknowledge", "4", notify.Result{Message: "Acknowledged: Disk full on db1."}, nil,
			[]string{"n1", "acknowledge", "by phone call"}, []string{"Acknowledged: Disk full on db1."}, false},
		{"close", "6", notify.Result{Message: "Closed."}, nil, []string{"n1", "close", "by phone call"}, []string{"Closed."}, false},
		{"escalate", "5", notify.Result{}, nil, []string{"n1", "escalate", "by phone call"}, []string{"The alert is escalated."}, false},
		{"repeat", "*", notify.Result{}, nil, nil, []string{intro, "No key pressed. Goodbye."}, true},
		{"unknown key", "9", notify.Result{}, nil, nil, []string{"Unknown key. " + intro, "No key pressed. Goodbye."}, true},
		{"already closed", "4", notify.Result{}, apperr.New(apperr.Conflict, "this alert is already closed"),
			[]string{"n1", "acknowledge", "by phone call"}, []string{"This alert is already closed."}, false},
		{"internal error", "6", notify.Result{}, errors.New("database is locked"),
			[]string{"n1", "close", "by phone call"}, []string{"Sorry, lastmile could not do that right now. Please try again in the app."}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.in.result, e.in.respondErr = tc.result, tc.respondErr
			sid, err := e.voice.Send(context.Background(), alert())
			if err != nil {
				t.Fatal(err)
			}
			doc, err := answer(t, e, sid)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Gather == nil || doc.Gather.NumDigits != "1" || doc.Gather.Timeout != "10" || doc.Gather.Method != "POST" ||
				!reflect.DeepEqual(doc.Says, []string{intro, "No key pressed. Goodbye."}) || !doc.Hangup {
				t.Fatalf("answer TwiML %+v", doc)
			}
			if a := doc.SayAttrs[0]; a["language"] != "en-US" || a["voice"] != "Polly.Joanna" {
				t.Errorf("Say attributes %v", a)
			}
			action, _ := url.Parse(e.tw.GatherURL(sid))
			if action.Path != "/callbacks/twilio/voice" || action.Query().Get("step") != "menu" || action.Query().Get("n") != "n1" {
				t.Errorf("Gather action %v", action)
			}
			if calls := e.in.Calls(); len(calls) != 0 {
				t.Fatalf("answering called Inbound: %v", calls)
			}
			body, err := e.tw.Press(context.Background(), sid, tc.digits)
			if err != nil {
				t.Fatal(err)
			}
			doc, err = twiliotest.ParseTwiML(body)
			if err != nil {
				t.Fatal(err)
			}
			var respond []string
			for _, c := range e.in.Calls() {
				if c.Method != "Respond" {
					t.Errorf("unexpected call %v", c)
				}
				respond = c.Args
			}
			if !reflect.DeepEqual(respond, tc.wantRespond) {
				t.Errorf("Respond%q, want %q", respond, tc.wantRespond)
			}
			if !reflect.DeepEqual(doc.Says, tc.wantSays) || (doc.Gather != nil) != tc.wantGather || !doc.Hangup {
				t.Errorf("TwiML says %q (gather %v, hangup %v), want %q (gather %v)", doc.Says, doc.Gather != nil, doc.Hangup, tc.wantSays, tc.wantGather)
			}
		})
	}
}

func TestVoiceKinds(t *testing.T) {
	cases := []struct {
		name       string
		m          notify.Message
		wantSay    string
		wantGather bool
	}{
		{"verify", notify.Message{NotificationID: "v1", Kind: notify.KindVerify, Code: "123456", Title: "secret title"},
			"Your lastmile verification code is 1, 2, 3, 4, 5, 6. Again: 1, 2, 3, 4, 5, 6. Goodbye.", false},
		{"test", notify.Message{NotificationID: "t1", Kind: notify.KindTest, TeamName: "Ops", Title: "Test notification"},
			"This is a test call from lastmile, team Ops. Test notification. No action is needed. Goodbye.", false},
		{"bundle", notify.Message{NotificationID: "b1", Kind: notify.KindBundle, TeamName: "Ops", Bundle: []notify.AlertRef{
			{Title: "Disk full"}, {Title: "CPU hot"}, {Title: "Backup late"}, {Title: "Fan broken"}, {Title: "UPS on battery"}}},
			"5 new alerts from lastmile, team Ops. Disk full. CPU hot. Backup late. and 2 more. Press 4 to acknowledge all, 6 to close all, star to repeat.", true},
		{"escalation", func() notify.Message { m := alert(); m.Kind = "escalation"; m.Severity = ""; return m }(),
			"Escalated alert from lastmile, team Ops. Disk full on db1. Press 4 to acknowledge, 6 to close, 5 to escalate, star to repeat.", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tc.m.Address = "+4915112345678"
			sid, err := e.voice.Send(context.Background(), tc.m)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := answer(t, e, sid)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Says) == 0 || doc.Says[0] != tc.wantSay || (doc.Gather != nil) != tc.wantGather || !doc.Hangup {
				t.Fatalf("TwiML %+v\nwant say %q", doc, tc.wantSay)
			}
			if tc.m.Kind == notify.KindVerify && strings.Contains(e.tw.Calls()[0].URL, "secret") {
				t.Error("a verification call carries more than its code")
			}
		})
	}
	t.Run("bundles cannot be escalated by key", func(t *testing.T) {
		e := newEnv(t, nil)
		sid, _ := e.voice.Send(context.Background(), notify.Message{NotificationID: "b1", Kind: notify.KindBundle, Address: "+4915112345678",
			Bundle: []notify.AlertRef{{Title: "A"}, {Title: "B"}}})
		answer(t, e, sid)
		body, err := e.tw.Press(context.Background(), sid, "5")
		if err != nil || !strings.HasPrefix(twiliotest.TwiMLText(body), "Unknown key.") || len(e.in.Calls()) != 0 {
			t.Errorf("TwiML %q, %v, calls %v", body, err, e.in.Calls())
		}
	})
}

func TestVoiceEscapesXML(t *testing.T) {
	e := newEnv(t, nil)
	m := alert()
	m.Title = `Disk <full> & "db1" ]]>`
	m.TeamName = "R&D <ops>"
	sid, err := e.voice.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	body, err := e.tw.Answer(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "<full>") || strings.Contains(body, "<ops>") || !strings.Contains(body, "&lt;full&gt; &amp;") {
		t.Errorf("title not escaped: %s", body)
	}
	if !strings.Contains(body, `action="`+e.base+`/callbacks/twilio/voice?n=n1&amp;step=menu&amp;t=`) {
		t.Errorf("Gather action not escaped: %s", body)
	}
	doc, err := twiliotest.ParseTwiML(body)
	if err != nil || !strings.HasPrefix(doc.Says[0], `Alert from lastmile, team R&D <ops>. Disk <full> & "db1" ]]>.`) {
		t.Errorf("TwiML %+v, %v", doc, err)
	}
}

func TestVoiceCallsLastmileDidNotPlace(t *testing.T) {
	e := newEnv(t, nil)
	test := base64.RawURLEncoding.EncodeToString([]byte(`{"kind":"test"}`))
	alertOnly := base64.RawURLEncoding.EncodeToString([]byte(`{"kind":"alert","title":"x","actions":"ace"}`))
	cases := []struct{ query, want string }{
		{"", "Sorry, lastmile cannot read this call's alert. Goodbye."},
		{"?n=n1&t=%25%25", "Sorry, lastmile cannot read this call's alert. Goodbye."},
		{"?t=" + alertOnly, "Sorry, lastmile cannot read this call's alert. Goodbye."},
		{"?t=" + test, "This is a test call from lastmile. No action is needed. Goodbye."},
	}
	for _, tc := range cases {
		target := e.base + "/callbacks/twilio/voice" + tc.query
		form := url.Values{"CallSid": {"CA1"}, "From": {"+4915112345678"}, "CallStatus": {"in-progress"}}
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twiliotest.AuthToken, target, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if doc, err := twiliotest.ParseTwiML(string(body)); err != nil || !reflect.DeepEqual(doc.Says, []string{tc.want}) || !doc.Hangup || doc.Gather != nil {
			t.Errorf("%q: TwiML %s", tc.query, body)
		}
	}
	if calls := e.in.Calls(); len(calls) != 0 {
		t.Errorf("Inbound called: %v", calls)
	}
}
