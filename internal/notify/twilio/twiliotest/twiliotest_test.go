package twiliotest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestSignMatchesTwiliosExamples(t *testing.T) {
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	cases := []struct {
		params url.Values
		want   string
	}{
		// https://www.twilio.com/docs/usage/webhooks/webhooks-security
		{url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"}, "From": {"+12349013030"}, "To": {"+18005551212"}},
			"0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		// twilio-go's request validator test
		{url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
			"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}, "vOEb5UThFn24KEfnOFLQY2AE5FY="},
	}
	for _, tc := range cases {
		if got := Sign("12345", u, tc.params); got != tc.want {
			t.Errorf("Sign = %s, want %s", got, tc.want)
		}
	}
}

type answer struct {
	status int
	body   map[string]any
}

func call(t *testing.T, s *Server, method, path, user, pass string, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	a.status = resp.StatusCode
	json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

func TestRESTChecksLikeTwilio(t *testing.T) {
	s := New(AccountSID, AuthToken)
	defer s.Close()
	messages := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	calls := "/2010-04-01/Accounts/" + AccountSID + "/Calls.json"
	sms := url.Values{"To": {"+4915112345678"}, "From": {Number}, "Body": {"hi"}}
	voice := url.Values{"To": {"+4915112345678"}, "From": {Number}, "Url": {"https://lastmile.example/voice"}}
	with := func(f url.Values, k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range f {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	cases := []struct {
		name       string
		path, user string
		pass       string
		form       url.Values
		status     int
		code       int
	}{
		{"no credentials", messages, "", "", sms, 401, 20003},
		{"wrong token", messages, AccountSID, "nope", sms, 401, 20003},
		{"another account's path", "/2010-04-01/Accounts/AC" + strings.Repeat("0", 32) + "/Messages.json", AccountSID, AuthToken, sms, 404, 20404},
		{"no To", messages, AccountSID, AuthToken, with(sms, "To", ""), 400, 21604},
		{"To not E.164", messages, AccountSID, AuthToken, with(sms, "To", "0151 12345678"), 400, 21211},
		{"no sender", messages, AccountSID, AuthToken, with(sms, "From", ""), 400, 21603},
		{"From of another account", messages, AccountSID, AuthToken, with(sms, "From", "+15005550009"), 400, 21606},
		{"no Body", messages, AccountSID, AuthToken, with(sms, "Body", ""), 400, 21602},
		{"Body too long", messages, AccountSID, AuthToken, with(sms, "Body", strings.Repeat("x", 1601)), 400, 21617},
		{"bad StatusCallback", messages, AccountSID, AuthToken, with(sms, "StatusCallback", "/status"), 400, 21609},
		{"bad Messaging Service", messages, AccountSID, AuthToken, with(with(sms, "From", ""), "MessagingServiceSid", "MG1"), 400, 21701},
		{"message", messages, AccountSID, AuthToken, sms, 201, 0},
		{"message via service", messages, AccountSID, AuthToken, with(with(sms, "From", ""), "MessagingServiceSid", "MG"+strings.Repeat("a", 32)), 201, 0},
		{"call without Url", calls, AccountSID, AuthToken, with(voice, "Url", ""), 400, 21205},
		{"call to a bad number", calls, AccountSID, AuthToken, with(voice, "To", "12345"), 400, 21211},
		{"call from another number", calls, AccountSID, AuthToken, with(voice, "From", "+15005550009"), 400, 21210},
		{"call with a bad event", calls, AccountSID, AuthToken, with(voice, "StatusCallbackEvent", "hungup"), 400, 21626},
		{"call", calls, AccountSID, AuthToken, voice, 201, 0},
	}
	for _, tc := range cases {
		a := call(t, s, "POST", tc.path, tc.user, tc.pass, tc.form)
		if a.status != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, a.status, tc.status, a.body)
			continue
		}
		if tc.code != 0 && (a.body["code"] != float64(tc.code) || a.body["status"] != float64(tc.status) || a.body["message"] == "" || a.body["more_info"] == nil) {
			t.Errorf("%s: body %v, want code %d", tc.name, a.body, tc.code)
		}
		if tc.code == 0 && (!strings.HasPrefix(a.body["sid"].(string), "SM") && !strings.HasPrefix(a.body["sid"].(string), "CA")) {
			t.Errorf("%s: body %v", tc.name, a.body)
		}
	}
	if len(s.Messages()) != 2 || len(s.Calls()) != 1 {
		t.Errorf("recorded %d messages, %d calls", len(s.Messages()), len(s.Calls()))
	}
	if m := s.Messages()[0]; m.To != "+4915112345678" || m.From != Number || m.Body != "hi" {
		t.Errorf("message %+v", m)
	}
	if c := s.Calls()[0]; c.Method != "POST" || len(c.StatusCallbackEvents) != 1 || c.StatusCallbackEvents[0] != "completed" {
		t.Errorf("call defaults %+v", c)
	}
	reqs := s.Requests()
	if len(reqs) != len(cases) || reqs[0].Authorized || !reqs[len(reqs)-1].Authorized || reqs[len(reqs)-1].User != AccountSID {
		t.Errorf("requests %+v", reqs)
	}
}

func TestFailNextAndOptOut(t *testing.T) {
	s := New(AccountSID, AuthToken)
	defer s.Close()
	messages := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	sms := url.Values{"To": {"+4915112345678"}, "From": {Number}, "Body": {"hi"}}
	s.FailNext(429, 20429, "Too Many Requests")
	s.FailNext(503, 0, "down")
	if a := call(t, s, "POST", messages, AccountSID, AuthToken, sms); a.status != 429 || a.body["code"] != float64(20429) {
		t.Errorf("first: %+v", a)
	}
	if a := call(t, s, "POST", messages, AccountSID, AuthToken, sms); a.status != 503 {
		t.Errorf("second: %+v", a)
	}
	s.FailNext(0, 0, "")
	req, _ := http.NewRequest("POST", s.URL+messages, strings.NewReader(sms.Encode()))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a dropped connection answered %d", resp.StatusCode)
	}
	if a := call(t, s, "POST", messages, AccountSID, AuthToken, sms); a.status != 201 {
		t.Errorf("after the failures: %+v", a)
	}
	// Twilio opts a number out when it texts STOP, and in again on START.
	lm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<Response/>") }))
	defer lm.Close()
	if _, err := s.Reply(context.Background(), lm.URL, "+4915112345678", Number, "stop"); err != nil {
		t.Fatal(err)
	}
	if a := call(t, s, "POST", messages, AccountSID, AuthToken, sms); a.status != 400 || a.body["code"] != float64(21610) {
		t.Errorf("after STOP: %+v", a)
	}
	s.Reply(context.Background(), lm.URL, "+4915112345678", Number, "START")
	if a := call(t, s, "POST", messages, AccountSID, AuthToken, sms); a.status != 201 {
		t.Errorf("after START: %+v", a)
	}
}

// signedServer is a stand-in for lastmile that checks every request's
// signature and answers with TwiML from answer.
type signedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values
	paths    []string
}

func newSignedServer(t *testing.T, answer func(path string, form url.Values) string) *signedServer {
	s := &signedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		full := "http://" + r.Host + r.URL.RequestURI()
		if r.Header.Get("X-Twilio-Signature") != Sign(AuthToken, full, r.PostForm) {
			t.Errorf("bad signature for %s", full)
			http.Error(w, "bad signature", 403)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, r.PostForm)
		s.paths = append(s.paths, r.URL.RequestURI())
		s.mu.Unlock()
		io.WriteString(w, answer(r.URL.Path, r.PostForm))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCallFlow(t *testing.T) {
	s := New(AccountSID, AuthToken)
	defer s.Close()
	lm := newSignedServer(t, func(path string, form url.Values) string {
		switch {
		case path == "/voice" && form.Get("Digits") == "":
			return `<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" action="menu?x=1&amp;y=2"><Say language="en-US">Press 4 &amp; go</Say></Gather><Say>Bye</Say></Response>`
		case form.Get("Digits") == "4":
			return `<Response><Say>Done</Say><Hangup/></Response>`
		}
		return `<Response/>`
	})
	form := url.Values{"To": {"+4915112345678"}, "From": {Number}, "Url": {lm.URL + "/voice?n=1"},
		"StatusCallback": {lm.URL + "/status"}, "StatusCallbackEvent": {"answered", "completed"}}
	a := call(t, s, "POST", "/2010-04-01/Accounts/"+AccountSID+"/Calls.json", AccountSID, AuthToken, form)
	sid, _ := a.body["sid"].(string)
	ctx := context.Background()
	if _, err := s.Press(ctx, sid, "4"); err == nil {
		t.Error("pressed a key before the call was answered")
	}
	body, err := s.Answer(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseTwiML(body)
	if err != nil || doc.Gather == nil || doc.Gather.Says[0] != "Press 4 & go" || doc.SayAttrs[0]["language"] != "en-US" || TwiMLText(body) != "Press 4 & go Bye" {
		t.Fatalf("TwiML %+v, %v", doc, err)
	}
	if got := s.GatherURL(sid); got != lm.URL+"/menu?x=1&y=2" {
		t.Errorf("relative action resolved to %q", got)
	}
	body, err = s.Press(ctx, sid, "4")
	if err != nil || TwiMLText(body) != "Done" {
		t.Fatalf("press: %q, %v", body, err)
	}
	if s.GatherURL(sid) != "" {
		t.Error("a Gather was remembered from TwiML that has none")
	}
	if err := s.Status(ctx, sid, "completed", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Status(ctx, sid, "ringing", ""); err == nil {
		t.Error("sent an event the call did not ask for")
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	want := []string{"/voice?n=1", "/menu?x=1&y=2", "/status"}
	if strings.Join(lm.paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths %v, want %v", lm.paths, want)
	}
	if f := lm.requests[0]; f.Get("CallSid") != sid || f.Get("CallStatus") != "in-progress" || f.Get("From") != Number || f.Get("To") != "+4915112345678" || f.Has("Digits") {
		t.Errorf("answer params %v", f)
	}
	if f := lm.requests[1]; f.Get("Digits") != "4" || f.Get("CallSid") != sid {
		t.Errorf("press params %v", f)
	}
	if f := lm.requests[2]; f.Get("CallStatus") != "completed" || f.Get("CallSid") != sid {
		t.Errorf("status params %v", f)
	}
}

func TestReplyAndMessageStatus(t *testing.T) {
	s := New(AccountSID, AuthToken)
	defer s.Close()
	lm := newSignedServer(t, func(path string, form url.Values) string {
		if path == "/callbacks/twilio/sms" {
			return `<Response><Message>Got ` + form.Get("Body") + `</Message></Response>`
		}
		return ""
	})
	body, err := s.Reply(context.Background(), lm.URL+"/", "+4915112345678", Number, "3a")
	if err != nil || TwiMLText(body) != "Got 3a" {
		t.Fatalf("reply: %q, %v", body, err)
	}
	a := call(t, s, "POST", "/2010-04-01/Accounts/"+AccountSID+"/Messages.json", AccountSID, AuthToken,
		url.Values{"To": {"+4915112345678"}, "From": {Number}, "Body": {"x"}, "StatusCallback": {lm.URL + "/status"}})
	sid := a.body["sid"].(string)
	if err := s.Status(context.Background(), sid, "undelivered", "30003"); err != nil {
		t.Fatal(err)
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if f := lm.requests[0]; f.Get("From") != "+4915112345678" || f.Get("To") != Number || f.Get("Body") != "3a" || f.Get("AccountSid") != AccountSID {
		t.Errorf("reply params %v", f)
	}
	if f := lm.requests[1]; f.Get("MessageSid") != sid || f.Get("MessageStatus") != "undelivered" || f.Get("ErrorCode") != "30003" {
		t.Errorf("status params %v", f)
	}
	if err := s.Status(context.Background(), "SMnope", "sent", ""); err == nil {
		t.Error("status for an unknown sid")
	}
}

func TestParseTwiMLRefusesNonTwiML(t *testing.T) {
	for _, doc := range []string{"", "hello", "<html></html>", "<Response><Say>unclosed</Response>"} {
		if _, err := ParseTwiML(doc); err == nil {
			t.Errorf("%q parsed", doc)
		}
	}
}
