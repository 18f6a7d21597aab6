package slack

import (
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
)

func TestBuildSettings(t *testing.T) {
	deps := notify.Deps{Log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name, raw, errHas string
		apiURL            string
	}{
		{name: "empty settings serve incoming webhooks", raw: `{}`, apiURL: DefaultAPIURL},
		{name: "nothing saved", raw: ``, apiURL: DefaultAPIURL},
		{name: "all fields", raw: `{"signingSecret":"` + testSecret + `","botToken":"xoxb-1-2-abc","apiUrl":"https://slack.example/api/"}`, apiURL: "https://slack.example/api"},
		{name: "rotating bot token", raw: `{"botToken":"xoxe.xoxb-1-abc"}`, apiURL: DefaultAPIURL},
		{name: "loopback http api", raw: `{"apiUrl":"http://127.0.0.1:9/api"}`, apiURL: "http://127.0.0.1:9/api"},
		{name: "unknown field", raw: `{"webhookUrl":"x"}`, errHas: "webhookUrl"},
		{name: "user token", raw: `{"botToken":"xoxp-secret-user-token"}`, errHas: "botToken must be a bot token"},
		{name: "short signing secret", raw: `{"signingSecret":"abc"}`, errHas: "signingSecret"},
		{name: "http api elsewhere", raw: `{"apiUrl":"http://slack.example/api"}`, errHas: "apiUrl"},
		{name: "api not a URL", raw: `{"apiUrl":"slack.com"}`, errHas: "apiUrl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chs, err := Provider().Build(json.RawMessage(tc.raw), deps)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %v, want one naming %q", err, tc.errHas)
				}
				if strings.Contains(err.Error(), "xoxp-secret-user-token") {
					t.Fatalf("the error repeats the token: %v", err)
				}
				if errors.Is(err, notify.ErrNotConfigured) {
					t.Fatal("a wrong setting is not 'not configured'")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(chs) != 1 || chs[0].Name() != "slack" {
				t.Fatalf("channels %v", chs)
			}
			if got := chs[0].(*Channel).s.APIURL; got != tc.apiURL {
				t.Errorf("apiUrl %q, want %q", got, tc.apiURL)
			}
		})
	}
	p := Provider()
	if p.Name != "slack" || !slices.Equal(p.Channels, []string{"slack"}) || !slices.Equal(p.Secrets, []string{"signingSecret", "botToken"}) {
		t.Errorf("provider %+v", p)
	}
}

func TestValidateAddress(t *testing.T) {
	for _, tc := range []struct{ in, want, errHas string }{
		{in: "https://hooks.slack.com/services/T1/B2/xyz", want: "https://hooks.slack.com/services/T1/B2/xyz"},
		{in: "  https://hooks.slack.com/services/T1/B2/xyz#frag ", want: "https://hooks.slack.com/services/T1/B2/xyz"},
		{in: "https://chat.example/hook", want: "https://chat.example/hook"},
		{in: "http://127.0.0.1:8080/services/x", want: "http://127.0.0.1:8080/services/x"},
		{in: "channel:C0123ABC", want: "channel:C0123ABC"},
		{in: "Channel: c0123abc", want: "channel:C0123ABC"},
		{in: "channel:G0PRIVATE1", want: "channel:G0PRIVATE1"},
		{in: "channel:#oncall", errHas: "the ID is at the bottom"},
		{in: "channel:", errHas: "incoming webhook URL"},
		{in: "http://hooks.slack.com/services/x", errHas: "incoming webhook URL"},
		{in: "https://user:pw@hooks.slack.com/x", errHas: "incoming webhook URL"},
		{in: "#oncall", errHas: "channel:C0123ABC"},
		{in: "", errHas: "incoming webhook URL"},
	} {
		got, err := ValidateAddress("slack", tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
