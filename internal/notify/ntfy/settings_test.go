package ntfy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/ntfy"
)

func TestSettingsAreChecked(t *testing.T) {
	for _, tc := range []struct{ raw, words string }{
		{`{"serverUrl":"ntfy.example.com"}`, "is not an http(s) URL"},
		{`{"serverUrl":"ftp://ntfy.example.com"}`, "is not an http(s) URL"},
		{`{"serverUrl":"https://u:p@ntfy.example.com"}`, "must not hold a user name or password"},
		{`{"serverUrl":"https://ntfy.example.com/?x=1"}`, "must not have a query"},
		{`{"token":"tk_a","username":"u","password":"p"}`, "either token or username and password"},
		{`{"username":"u"}`, "password is missing"},
		{`{"password":"p"}`, "username is missing"},
		{`{"token":"tk a"}`, "token must not contain spaces"},
		{`{"priority":{"urgent":5}}`, `unknown severity "urgent"`},
		{`{"priority":{"high":6}}`, "priority for high is 6"},
		{`{"priority":{"low":0}}`, "priority for low is 0"},
		{`{"serverUri":"https://ntfy.example.com"}`, `unknown field "serverUri"`},
	} {
		_, err := ntfy.Provider().Build([]byte(tc.raw), deps(nil, nil))
		if err == nil || errors.Is(err, notify.ErrNotConfigured) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: %v, want %q", tc.raw, err, tc.words)
		}
		if err != nil && strings.Contains(tc.raw, `"password":"p"`) && strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: the error shows the password", tc.raw)
		}
	}
	for _, raw := range []string{``, `{}`, `{"serverUrl":"https://ntfy.example.com/"}`, `{"serverUrl":"http://ntfy.lan:8080","token":"tk_x"}`,
		`{"username":"ana","password":"pw","priority":{"critical":5,"info":1}}`} {
		if _, err := ntfy.Provider().Build([]byte(raw), deps(nil, nil)); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
	p := ntfy.Provider()
	if p.Name != "ntfy" || len(p.Channels) != 1 || p.Channels[0] != "ntfy" || strings.Join(p.Secrets, ",") != "token,password" {
		t.Errorf("provider %+v", p)
	}
}

func TestValidateAddress(t *testing.T) {
	for in, want := range map[string]string{
		"ana-alerts":                          "ana-alerts",
		" Ana_Alerts_7f3k ":                   "Ana_Alerts_7f3k",
		"https://ntfy.example.org/ana-alerts": "https://ntfy.example.org/ana-alerts",
		"https://NTFY.example.org:8443/x/":    "https://ntfy.example.org:8443/x",
		strings.Repeat("a", 64):               strings.Repeat("a", 64),
	} {
		got, err := ntfy.ValidateAddress("ntfy", in)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for in, words := range map[string]string{
		"":                                    "is not an ntfy topic",
		"ana alerts":                          "is not an ntfy topic",
		"ana/alerts":                          "is not an ntfy topic",
		strings.Repeat("a", 65):               "1 to 64 letters",
		"http://ntfy.example.org/ana":         "must start with https://",
		"https:///ana":                        "no server name",
		"https://u:p@ntfy.example.org/ana":    "must not contain a user name or password",
		"https://ntfy.example.org/ana?auth=x": "must not have a query",
		"https://ntfy.example.org/":           "names no topic",
		"https://ntfy.example.org/a/b":        `the topic "a/b" must be`,
		"https://ntfy.example.org/ä":          "must be 1 to 64",
	} {
		if got, err := ntfy.ValidateAddress("ntfy", in); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%q: %q, %v; want %q", in, got, err, words)
		}
	}
}
