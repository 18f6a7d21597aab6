package push

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
)

func TestBuildSettings(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		baseURL  string
		subject  string
		ttl      int
		urgency  string
		wantErr  string
		notConfd bool
	}{
		{"nothing saved", ``, "https://lastmile.example/", "https://lastmile.example", 86400, "high", "", false},
		{"empty", `{}`, "http://10.0.0.5:8080", "mailto:lastmile@localhost", 86400, "high", "", false},
		{"all set", `{"subject":"mailto:ops@example.com","ttlSeconds":0,"urgency":"normal"}`, "https://lastmile.example", "mailto:ops@example.com", 0, "normal", "", false},
		{"https subject", `{"subject":"https://status.example.com/contact","ttlSeconds":2419200,"urgency":"very-low"}`, "", "https://status.example.com/contact", 2419200, "very-low", "", false},
		{"unknown field", `{"vapidPrivateKey":"x"}`, "", "", 0, "", `unknown field "vapidPrivateKey"`, false},
		{"negative ttl", `{"ttlSeconds":-1}`, "", "", 0, "", "ttlSeconds must be between 0 and 2419200", false},
		{"ttl too long", `{"ttlSeconds":2419201}`, "", "", 0, "", "ttlSeconds must be between 0 and 2419200", false},
		{"ttl not a number", `{"ttlSeconds":"1h"}`, "", "", 0, "", "ttlSeconds", false},
		{"bad urgency", `{"urgency":"critical"}`, "", "", 0, "", `urgency must be one of very-low, low, normal, high (got "critical")`, false},
		{"bare email subject", `{"subject":"ops@example.com"}`, "", "", 0, "", "subject must start with mailto: or https:", false},
		{"empty mailto", `{"subject":"mailto:"}`, "", "", 0, "", "subject must be a mailto: address", false},
		{"http subject", `{"subject":"http://example.com"}`, "", "", 0, "", "subject must start with mailto: or https:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDeps(clock.NewFake(start), &memKeys{}, notify.GuardedClient(true, time.Second))
			d.BaseURL = tt.baseURL
			chs, err := Provider().Build(json.RawMessage(tt.raw), d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(chs) != 1 || chs[0].Name() != "push" {
				t.Fatalf("channels %v", chs)
			}
			c := chs[0].(*Channel)
			if c.subject != tt.subject || c.ttl != tt.ttl || c.urgency != tt.urgency {
				t.Errorf("subject %q ttl %d urgency %q", c.subject, c.ttl, c.urgency)
			}
			if _, ok := chs[0].(notify.Checker); !ok {
				t.Error("the channel is not a Checker")
			}
		})
	}
}

func TestBuildWithoutKeyStore(t *testing.T) {
	d := testDeps(clock.NewFake(start), nil, notify.GuardedClient(true, time.Second))
	d.Keys = nil
	if _, err := Provider().Build(json.RawMessage(`{}`), d); !errors.Is(err, notify.ErrNotConfigured) {
		t.Fatalf("got %v, want ErrNotConfigured", err)
	}
}

func TestProviderDescription(t *testing.T) {
	p := Provider()
	if p.Name != "push" || len(p.Channels) != 1 || p.Channels[0] != "push" || len(p.Secrets) != 0 || p.ValidateAddress == nil {
		t.Errorf("%+v", p)
	}
}
