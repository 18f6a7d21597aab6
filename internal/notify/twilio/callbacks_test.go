package twilio

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

func TestSignatureMatchesTwiliosExample(t *testing.T) {
	// The example of https://www.twilio.com/docs/usage/webhooks/webhooks-security.
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"}, "From": {"+12349013030"}, "To": {"+18005551212"}}
	const u, want = "https://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	if got := base64.StdEncoding.EncodeToString(signature("12345", u, params)); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if got := twiliotest.Sign("12345", u, params); got != want {
		t.Errorf("twiliotest.Sign %s, want %s", got, want)
	}
}

func TestSMSReply(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		answer  string
		err     error
		wantMsg []string
	}{
		{"acknowledge", "3a", "Acknowledged: Disk full on db1", nil, []string{"Acknowledged: Disk full on db1"}},
		{"no answer", "thanks", "", nil, nil},
		{"stop is passed on", "STOP", "You will get no more SMS from lastmile. Text START to get them again.", nil,
			[]string{"You will get no more SMS from lastmile. Text START to get them again."}},
		{"answer with markup", "3c", "Closed: <Disk> & “full”", nil, []string{`Closed: <Disk> & "full"`}},
		{"failure", "3a", "", errors.New("database is locked"), []string{"Sorry, lastmile could not do that right now. Please try again in the app."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.in.textAnswer, e.in.textErr = tc.answer, tc.err
			body, err := e.tw.Reply(context.Background(), e.base, "+4915112345678", twiliotest.Number, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := twiliotest.ParseTwiML(body)
			if err != nil {
				t.Fatalf("TwiML %q: %v", body, err)
			}
			if !reflect.DeepEqual(doc.Messages, tc.wantMsg) || len(doc.Says) != 0 {
				t.Errorf("TwiML %q, want messages %q", body, tc.wantMsg)
			}
			want := []inboundCall{{"TextReply", []string{"sms", "+4915112345678", tc.body}}}
			if got := e.in.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("Inbound calls %v, want %v", got, want)
			}
		})
	}
}

func TestStatusCallbacks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	smsID, err := e.sms.Send(ctx, alert())
	if err != nil {
		t.Fatal(err)
	}
	callID, err := e.voice.Send(ctx, alert())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ sid, status, code string }{
		{smsID, "sent", ""},
		{smsID, "undelivered", "30003"},
		{callID, "in-progress", ""},
		{callID, "no-answer", ""},
	} {
		if err := e.tw.Status(ctx, step.sid, step.status, step.code); err != nil {
			t.Fatalf("%s %s: %v", step.sid, step.status, err)
		}
	}
	want := []inboundCall{
		{"Delivery", []string{"sms", smsID, "sent", ""}},
		{"Delivery", []string{"sms", smsID, "undelivered", "the phone is unreachable: switched off or out of coverage (30003)"}},
		{"Delivery", []string{"voice", callID, "in-progress", ""}},
		{"Delivery", []string{"voice", callID, "no-answer", ""}},
	}
	if got := e.in.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("Inbound calls\n got %v\nwant %v", got, want)
	}
	// The call asked for answered and completed events only.
	if err := e.tw.Status(ctx, callID, "ringing", ""); err == nil {
		t.Error("the fake sent a ringing event nobody asked for")
	}
	e.in.deliveryErr = errors.New("database is locked")
	if err := e.tw.Status(ctx, smsID, "delivered", ""); twiliotest.StatusOf(err) != http.StatusInternalServerError {
		t.Errorf("a report that could not be recorded: %v", err)
	}
}

func TestErrorDetails(t *testing.T) {
	for code, want := range map[string]string{
		"": "", "30005": "unknown destination", "30006": "landline", "30007": "filtered", "30008": "unknown error", "30999": "Twilio error 30999",
	} {
		if got := errorDetail(code); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("%q: %q, want %q", code, got, want)
		}
	}
}

// post sends a callback like Twilio, with the signature sig (none if "").
func post(t *testing.T, target string, form url.Values, sig string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCallbacksRefuseBadSignatures(t *testing.T) {
	e := newEnv(t, nil)
	smsForm := url.Values{"MessageSid": {"SM1"}, "AccountSid": {twiliotest.AccountSID}, "From": {"+4915112345678"}, "To": {twiliotest.Number}, "Body": {"3a"}}
	statusForm := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	voiceQuery := "?n=n1&t=" + base64.RawURLEncoding.EncodeToString([]byte(`{"title":"x","kind":"alert","actions":"ace"}`)) + "&step=menu"
	voiceForm := url.Values{"CallSid": {"CA1"}, "Digits": {"4"}, "CallStatus": {"in-progress"}}
	changed := func(f url.Values, k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range f {
			c[kk] = append([]string(nil), vv...)
		}
		c.Set(k, v)
		return c
	}
	for _, ep := range []struct {
		path string
		form url.Values
	}{
		{"/callbacks/twilio/sms", smsForm},
		{"/callbacks/twilio/status", statusForm},
		{"/callbacks/twilio/voice" + voiceQuery, voiceForm},
	} {
		target := e.base + ep.path
		good := twiliotest.Sign(twiliotest.AuthToken, target, ep.form)
		cases := []struct {
			name string
			url  string
			form url.Values
			sig  string
		}{
			{"missing header", target, ep.form, ""},
			{"forged with another token", target, ep.form, twiliotest.Sign("not-the-token", target, ep.form)},
			{"parameter changed", target, changed(ep.form, "From", "+15550000000"), good},
			{"parameter added", target, changed(ep.form, "Extra", "1"), good},
			{"query changed", withQuery(target, "n=n2"), ep.form, good},
			{"not base64", target, ep.form, "%%%"},
			{"signed for another host", target, ep.form, twiliotest.Sign(twiliotest.AuthToken, strings.Replace(target, "127.0.0.1", "localhost", 1), ep.form)},
		}
		for _, tc := range cases {
			t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
				if resp := post(t, tc.url, tc.form, tc.sig); resp.StatusCode != http.StatusForbidden {
					t.Errorf("status %d, want 403", resp.StatusCode)
				}
				if calls := e.in.Calls(); len(calls) != 0 {
					t.Errorf("Inbound was called: %v", calls)
				}
			})
		}
		// The same request, signed right, gets through.
		if resp := post(t, target, ep.form, good); resp.StatusCode/100 != 2 {
			t.Errorf("%s: a good signature got %d", ep.path, resp.StatusCode)
		}
		if calls := e.in.Calls(); len(calls) != 1 {
			t.Errorf("%s: Inbound calls %v", ep.path, calls)
		}
		e.in.calls = nil
	}
}

func withQuery(u, q string) string {
	if strings.Contains(u, "?") {
		return u + "&" + q
	}
	return u + "?" + q
}

func TestCallbackRequestShape(t *testing.T) {
	e := newEnv(t, nil)
	target := e.base + "/callbacks/twilio/status"
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
	t.Run("too big", func(t *testing.T) {
		form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "Pad": {strings.Repeat("x", 70<<10)}}
		if resp := post(t, target, form, twiliotest.Sign(twiliotest.AuthToken, target, form)); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("no sid", func(t *testing.T) {
		form := url.Values{"Foo": {"bar"}}
		if resp := post(t, target, form, twiliotest.Sign(twiliotest.AuthToken, target, form)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("delivered", func(t *testing.T) {
		form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
		if resp := post(t, target, form, twiliotest.Sign(twiliotest.AuthToken, target, form)); resp.StatusCode != http.StatusNoContent {
			t.Errorf("status %d, want 204", resp.StatusCode)
		}
	})
	if calls := e.in.Calls(); len(calls) != 1 {
		t.Errorf("Inbound calls %v", calls)
	}
	if e.sms.Callback("nope") != nil || e.voice.Callback("") != nil {
		t.Error("an unknown callback path has a handler")
	}
}

func TestSignatureURL(t *testing.T) {
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	cases := []struct {
		name     string
		baseURL  string
		signedAs string
		mount    func(http.Handler) http.Handler
		want     int
	}{
		{"as configured", "https://lastmile.example", "https://lastmile.example/callbacks/twilio/status?x=1", nil, 204},
		{"default port added by Twilio", "https://lastmile.example", "https://lastmile.example:443/callbacks/twilio/status?x=1", nil, 204},
		{"default port left out by Twilio", "https://lastmile.example:443", "https://lastmile.example/callbacks/twilio/status?x=1", nil, 204},
		{"base URL with a path", "https://example.com/lastmile", "https://example.com/lastmile/callbacks/twilio/status?x=1", nil, 204},
		{"mounted under a stripped prefix", "https://lastmile.example", "https://lastmile.example/callbacks/twilio/status?x=1",
			func(h http.Handler) http.Handler { return http.StripPrefix("/callbacks/twilio", h) }, 204},
		{"other port", "https://lastmile.example", "https://lastmile.example:8443/callbacks/twilio/status?x=1", nil, 403},
		{"http instead of https", "https://lastmile.example", "http://lastmile.example/callbacks/twilio/status?x=1", nil, 403},
		{"query left out", "https://lastmile.example", "https://lastmile.example/callbacks/twilio/status", nil, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &recInbound{}
			raw := []byte(`{"accountSid":"` + twiliotest.AccountSID + `","authToken":"` + twiliotest.AuthToken + `","fromNumber":"+15005550006"}`)
			chs, err := Provider().Build(raw, notify.Deps{Log: slog.New(slog.DiscardHandler), BaseURL: tc.baseURL, Inbound: in})
			if err != nil {
				t.Fatal(err)
			}
			var h http.Handler = chs[0].(notify.Callbacks).Callback("status")
			if tc.mount != nil {
				h = tc.mount(h)
			}
			req := httptest.NewRequest(http.MethodPost, "/callbacks/twilio/status?x=1", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twiliotest.AuthToken, tc.signedAs, form))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Errorf("status %d, want %d", w.Code, tc.want)
			}
			if called := len(in.Calls()) > 0; called != (tc.want == 204) {
				t.Errorf("Inbound called: %v", called)
			}
		})
	}
}
