package twilio

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

func TestSendErrors(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		code      int
		message   string
		permanent bool
		want      string
	}{
		{"invalid number", 400, 21211, "The 'To' number +4915112345678 is not a valid phone number.", true, "Twilio refused the number +4915112345678: not a valid phone number (21211)"},
		{"not SMS capable", 400, 21614, "'To' number is not a valid mobile number", true, "+4915112345678: it cannot receive SMS"},
		{"invalid call number", 400, 21217, "Phone number does not appear to be valid", true, "not a valid phone number (21217)"},
		{"opted out", 400, 21610, "Attempt to send to unsubscribed recipient", true, "replied STOP and must text START"},
		{"geo permissions", 400, 21408, "Permission to send an SMS has not been enabled for the region", true, "Geo permissions in the Twilio console (21408)"},
		{"trial account", 400, 21608, "The number is unverified", true, "trial account"},
		{"sender not ours", 400, 21606, "The From phone number is not a valid, SMS-capable inbound phone number", true, "fromNumber must be a number of this Twilio account"},
		{"credentials", 401, 20003, "Authenticate", true, "Twilio refused the Account SID or auth token (error 20003)"},
		{"something else", 400, 21620, "Invalid media URL(s)", true, "Invalid media URL(s) (error 21620)"},
		{"too many requests", 429, 20429, "Too Many Requests", false, "Twilio is busy or unavailable, will retry (error 20429: Too Many Requests)"},
		{"server error", 500, 20500, "Internal Server Error", false, "will retry"},
		{"unavailable", 503, 0, "", false, "HTTP 503"},
		{"connection dropped", 0, 0, "", false, "could not reach Twilio"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			for _, ch := range []notify.Channel{e.sms, e.voice} {
				e.tw.FailNext(tc.status, tc.code, tc.message)
				_, err := ch.Send(context.Background(), alert())
				if err == nil {
					t.Fatalf("%s: no error", ch.Name())
				}
				if notify.IsPermanent(err) != tc.permanent {
					t.Errorf("%s: permanent %v, want %v: %v", ch.Name(), !tc.permanent, tc.permanent, err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %q, want it to contain %q", ch.Name(), err, tc.want)
				}
				if strings.Contains(err.Error(), twiliotest.AuthToken) {
					t.Errorf("%s: the error shows the auth token: %v", ch.Name(), err)
				}
			}
			if n := len(e.tw.Messages()) + len(e.tw.Calls()); n != 0 {
				t.Errorf("%d sent despite the failure", n)
			}
		})
	}
}

func TestSendRefusedByTheFake(t *testing.T) {
	t.Run("wrong auth token", func(t *testing.T) {
		e := newEnv(t, func(s map[string]string) { s["authToken"] = "wrongtoken" })
		_, err := e.sms.Send(context.Background(), alert())
		if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "Account SID or auth token") || strings.Contains(err.Error(), "wrongtoken") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("number not of the account", func(t *testing.T) {
		e := newEnv(t, func(s map[string]string) { s["fromNumber"] = "+15005550009" })
		_, err := e.voice.Send(context.Background(), alert())
		if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "fromNumber") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("recipient opted out", func(t *testing.T) {
		e := newEnv(t, nil)
		e.tw.OptOut("+4915112345678")
		_, err := e.sms.Send(context.Background(), alert())
		if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "(21610)") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("address not a phone number", func(t *testing.T) {
		e := newEnv(t, nil)
		m := alert()
		m.Address = "ops@example.com"
		for _, ch := range []notify.Channel{e.sms, e.voice} {
			if _, err := ch.Send(context.Background(), m); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "ops@example.com") {
				t.Errorf("%s: error %v", ch.Name(), err)
			}
		}
		if n := len(e.tw.Requests()); n != 0 {
			t.Errorf("%d requests reached Twilio", n)
		}
	})
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name      string
		edit      func(map[string]string)
		prepare   func(*twiliotest.Server)
		want      string // "" for success
		numberAsk bool   // whether the sending number is looked up
	}{
		{"ok", nil, nil, "", true},
		{"wrong token", func(s map[string]string) { s["authToken"] = "wrongtoken" }, nil, "Twilio refused the Account SID or auth token", false},
		{"other account", func(s map[string]string) { s["accountSid"] = "AC" + strings.Repeat("f", 32) }, nil, "Twilio refused the Account SID or auth token", false},
		{"number of another account", func(s map[string]string) { s["fromNumber"] = "+15005550009" }, nil,
			"the number +15005550009 is not a Twilio number of this account", true},
		{"messaging service only", func(s map[string]string) {
			delete(s, "fromNumber")
			s["messagingServiceSid"] = "MG0123456789abcdef0123456789abcdef"
		}, nil, "", false},
		{"suspended", nil, func(tw *twiliotest.Server) { tw.SetAccountStatus("suspended") }, "is suspended", false},
		{"Twilio down", nil, func(tw *twiliotest.Server) { tw.FailNext(500, 20500, "Internal Server Error") }, "Twilio answered HTTP 500", false},
		{"unreachable", nil, func(tw *twiliotest.Server) { tw.FailNext(0, 0, "") }, "could not reach Twilio", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.edit)
			if tc.prepare != nil {
				tc.prepare(e.tw)
			}
			err := e.sms.Check(context.Background())
			if tc.want == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			asked := false
			for _, r := range e.tw.Requests() {
				if r.Method != "GET" {
					t.Errorf("the check sent %s %s", r.Method, r.Path)
				}
				if strings.HasSuffix(r.Path, "/IncomingPhoneNumbers.json") {
					asked = true
					if r.Query.Get("PhoneNumber") == "" {
						t.Errorf("number looked up without PhoneNumber: %v", r.Query)
					}
				}
			}
			if asked != tc.numberAsk {
				t.Errorf("looked up the number: %v, want %v", asked, tc.numberAsk)
			}
		})
	}
}

func TestSettingsPointAtTheFake(t *testing.T) {
	tw := twiliotest.New(twiliotest.AccountSID, twiliotest.AuthToken)
	defer tw.Close()
	var s Settings
	if err := json.Unmarshal(tw.Settings(twiliotest.Number), &s); err != nil || s.APIURL != tw.URL || s.FromNumber != twiliotest.Number {
		t.Fatalf("settings %+v, %v", s, err)
	}
}
