package email_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/email"
	"github.com/lastmile/lastmile/internal/notify/email/emailtest"
)

func TestSettingsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		raw           string
		notConfigured bool
		words         string
	}{
		{``, true, "set host"},
		{`{}`, true, "set host"},
		{`{"host":"smtp.example.com"}`, true, "from (the sender address"},
		{`{"from":"alerts@example.com"}`, true, "host (the SMTP server's name) is missing"},
		{`{"host":"smtp.example.com","from":"alerts@example.com","hots":"x"}`, false, `unknown field "hots"`},
		{`{"host":"smtp.example.com","from":"not an address"}`, false, `from "not an address" is not an email address`},
		{`{"host":"smtp://smtp.example.com","from":"a@example.com"}`, false, "without a scheme"},
		{`{"host":"smtp.example.com:587","from":"a@example.com"}`, false, "must not include a port"},
		{`{"host":"smtp.example.com","from":"a@example.com","security":"ssl"}`, false, `security "ssl" is not one of`},
		{`{"host":"smtp.example.com","from":"a@example.com","port":70000}`, false, "port 70000 is not a TCP port"},
		{`{"host":"smtp.example.com","from":"a@example.com","security":"none"}`, false, "only allowed for a relay on this machine"},
		{`{"host":"127.0.0.1","from":"a@example.com","security":"none","username":"u","password":"p"}`, false, "never sent over an unencrypted connection"},
		{`{"host":"smtp.example.com","from":"a@example.com","security":"none","allowPlaintext":true,"username":"u","password":"p"}`, false, "never sent over an unencrypted connection"},
		{`{"host":"smtp.example.com","from":"a@example.com","allowPlaintext":true}`, false, "allowPlaintext only applies"},
		{`{"host":"smtp.example.com","from":"a@example.com","username":"u"}`, false, "password is missing"},
		{`{"host":"smtp.example.com","from":"a@example.com","password":"p"}`, false, "username is missing"},
		{`{"host":"smtp.example.com","from":"a@example.com","caPem":"hello"}`, false, "caPem holds no PEM certificate"},
		{`{"host":"smtp.example.com","from":"a@example.com","helo":"my host"}`, false, "helo"},
		{`{"host":"smtp.example.com","from":"a@example.com","tlsServerName":"x/y"}`, false, "tlsServerName"},
	} {
		_, err := email.Provider().Build([]byte(tc.raw), deps())
		if err == nil || errors.Is(err, notify.ErrNotConfigured) != tc.notConfigured || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: %v; want %q (not configured %v)", tc.raw, err, tc.words, tc.notConfigured)
		}
		if err != nil && strings.Contains(tc.raw, `"password":"p"`) && strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: error shows the password: %v", tc.raw, err)
		}
	}
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true})
	for _, raw := range []string{
		`{"host":"smtp.example.com","from":"lastmile <alerts@example.com>","username":"u","password":"p"}`,
		`{"host":"smtp.example.com","from":"a@example.com","port":465}`,
		`{"host":"localhost","from":"a@example.com","security":"none","port":25}`,
		`{"host":"[::1]","from":"a@example.com","security":"none"}`,
		`{"host":"relay.internal","from":"a@example.com","security":"none","allowPlaintext":true}`,
		`{"host":"10.0.0.5","from":"a@example.com","tlsServerName":"relay.internal","caPem":` + jsonString(srv.CAPEM()) + `}`,
	} {
		if _, err := email.Provider().Build([]byte(raw), deps()); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func TestProviderDescription(t *testing.T) {
	p := email.Provider()
	if p.Name != "email" || len(p.Channels) != 1 || p.Channels[0] != "email" || len(p.Secrets) != 1 || p.Secrets[0] != "password" {
		t.Errorf("provider %+v", p)
	}
}

func TestValidateAddress(t *testing.T) {
	for in, want := range map[string]string{
		"ana@example.com":             "ana@example.com",
		"  Ana.Lopez@Example.COM ":    "ana.lopez@example.com",
		"Ana Lopez <Ana@Example.com>": "ana@example.com",
		`"Lopez, Ana" <ana@ex.org>`:   "ana@ex.org",
	} {
		got, err := email.ValidateAddress("email", in)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ana", "ana@", "@example.com", "ana example.com", "ana@example.com\r\nBcc: x@y.z", "a@[10.0.0.1]", "a@b.com, c@d.com"} {
		if got, err := email.ValidateAddress("email", in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		} else if !strings.Contains(err.Error(), "email address") && !strings.Contains(err.Error(), "IP address") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer("\n", `\n`, `"`, `\"`).Replace(s) + `"`
}
