package twilio

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
)

func TestBuildChecksSettings(t *testing.T) {
	const sid, token = twiliotest.AccountSID, "s3cr3tt0ken"
	settings := func(kv ...string) json.RawMessage {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return b
	}
	base := []string{"accountSid", sid, "authToken", token, "fromNumber", "+15005550006"}
	with := func(kv ...string) json.RawMessage { return settings(append(append([]string(nil), base...), kv...)...) }
	cases := []struct {
		name          string
		raw           json.RawMessage
		wantErr       string
		notConfigured bool
	}{
		{"nothing saved", json.RawMessage(`{}`), "accountSid and authToken are required", true},
		{"empty document", nil, "accountSid and authToken are required", true},
		{"no auth token", settings("accountSid", sid, "fromNumber", "+15005550006"), "authToken is required", true},
		{"no account sid", settings("authToken", token, "fromNumber", "+15005550006"), "accountSid is required", true},
		{"unknown field", json.RawMessage(`{"accountSid":"` + sid + `","authToken":"x","fromNumer":"+15005550006"}`), `unknown field "fromNumer"`, false},
		{"account sid of another kind", with("accountSid", "SK0123456789abcdef0123456789abcdef"), `accountSid "SK0123456789abcdef0123456789abcdef" is not a Twilio Account SID`, false},
		{"short account sid", with("accountSid", "AC1234"), "accountSid", false},
		{"token with a space", with("authToken", "abc def"), "authToken contains spaces", false},
		{"national number", with("fromNumber", "0151 1234567"), `fromNumber "0151 1234567" is not a phone number in E.164 form`, false},
		{"bad messaging service", with("messagingServiceSid", "MG12"), `messagingServiceSid "MG12" is not a Messaging Service SID`, false},
		{"no sender", settings("accountSid", sid, "authToken", token), "fromNumber is required", false},
		{"relative api url", with("apiUrl", "/twilio"), `apiUrl "/twilio" is not an absolute http(s) URL`, false},
		{"ftp api url", with("apiUrl", "ftp://api.twilio.com"), "apiUrl", false},
		{"bad language", with("voiceLanguage", "english please"), `voiceLanguage "english please"`, false},
		{"bad voice", with("voiceName", "<Joanna>"), `voiceName "<Joanna>"`, false},
		{"complete", with(), "", false},
		{"messaging service only", settings("accountSid", sid, "authToken", token, "messagingServiceSid", "MG0123456789abcdef0123456789abcdef"), "", false},
		{"every field", with("messagingServiceSid", "MG0123456789abcdef0123456789abcdef", "apiUrl", "https://api.twilio.com/", "voiceLanguage", "de-DE", "voiceName", "Polly.Marlene"), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chs, err := Provider().Build(tc.raw, notify.Deps{BaseURL: "https://lastmile.example"})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(chs) != 2 || chs[0].Name() != "sms" || chs[1].Name() != "voice" {
					t.Fatalf("channels %v", chs)
				}
				for _, c := range chs {
					if _, ok := c.(notify.Checker); !ok {
						t.Errorf("%s is not a Checker", c.Name())
					}
					if _, ok := c.(notify.Callbacks); !ok {
						t.Errorf("%s takes no callbacks", c.Name())
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if errors.Is(err, notify.ErrNotConfigured) != tc.notConfigured {
				t.Errorf("errors.Is(ErrNotConfigured) = %v, want %v", !tc.notConfigured, tc.notConfigured)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "abc def") {
				t.Errorf("the error shows the auth token: %v", err)
			}
		})
	}
}

func TestProviderDescribesItself(t *testing.T) {
	p := Provider()
	if p.Name != "twilio" || strings.Join(p.Channels, ",") != "sms,voice" || strings.Join(p.Secrets, ",") != "authToken" {
		t.Fatalf("provider %+v", p)
	}
}

func TestValidateAddress(t *testing.T) {
	cases := []struct{ in, want, wantErr string }{
		{"+4915112345678", "+4915112345678", ""},
		{"+49 (0)151 1234-5678", "+4915112345678", ""},
		{"0049 151 12345678", "+4915112345678", ""},
		{"+1 (415) 555.0100", "+14155550100", ""},
		{"0151 12345678", "", "must start with + and the country code"},
		{"+49 151 CALL ME", "", "unexpected character"},
		{"+0151123456", "", "not a valid E.164 number"},
		{"+1234", "", "not a valid E.164 number"},
		{"+1234567890123456", "", "not a valid E.164 number"},
	}
	for _, tc := range cases {
		got, err := ValidateAddress("sms", tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := ValidateAddress("email", "+4915112345678"); err == nil {
		t.Error("an email address was checked as a phone number")
	}
}
