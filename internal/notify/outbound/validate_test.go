package outbound_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

func TestCreateValidates(t *testing.T) {
	resolver := fakeResolver{
		"hooks.example.com":    {"93.184.216.34"},
		"internal.example.com": {"93.184.216.35", "10.0.0.5"},
		"metadata.example.com": {"169.254.169.254"},
		"lastmile.example":     {"93.184.216.40"},
	}
	cases := []struct {
		name    string
		private bool
		url     string
		events  []int
		wantErr string // "" when valid
		wantURL string
	}{
		{name: "https name", url: "https://hooks.example.com/in?token=1", wantURL: "https://hooks.example.com/in?token=1"},
		{name: "fragment dropped", url: " https://hooks.example.com/in#x ", wantURL: "https://hooks.example.com/in"},
		{name: "event types", url: "https://hooks.example.com/", events: []int{201, 200, 201, 1}},
		{name: "own API is no loop", url: "https://lastmile.example/api/v1/teams"},
		{name: "empty", url: "", wantErr: "url is required"},
		{name: "relative", url: "/in", wantErr: "not an absolute http(s) URL"},
		{name: "not a URL", url: "hooks example", wantErr: "not an absolute http(s) URL"},
		{name: "ftp", url: "ftp://hooks.example.com/", wantErr: "must start with https://"},
		{name: "http", url: "http://hooks.example.com/", wantErr: "must use https"},
		{name: "userinfo", url: "https://user:pw@hooks.example.com/", wantErr: "user name or password"},
		{name: "private IP", url: "https://10.1.2.3/in", wantErr: "10.1.2.3, a private network address"},
		{name: "loopback IPv6", url: "https://[::1]:8443/in", wantErr: "::1, a loopback address"},
		{name: "link-local", url: "https://169.254.169.254/latest", wantErr: "a link-local address"},
		{name: "name to private", url: "https://internal.example.com/in", wantErr: `"internal.example.com" resolves to 10.0.0.5, a private network address`},
		{name: "name to link-local", url: "https://metadata.example.com/", wantErr: "resolves to 169.254.169.254"},
		{name: "unknown name", url: "https://nowhere.example.com/", wantErr: `"nowhere.example.com" could not be resolved`},
		{name: "own webhook", url: "https://lastmile.example/webhook/secret", wantErr: "own inbound webhook"},
		{name: "own events API", url: "https://LastMile.Example:443/api/v2/events/secret", wantErr: "own inbound webhook"},
		{name: "own webhook dotted", url: "https://lastmile.example/x/../webhook/secret", wantErr: "own inbound webhook"},
		{name: "bad event type", url: "https://hooks.example.com/", events: []int{200, 204}, wantErr: "event type 204 is unknown"},
		{name: "private allowed", private: true, url: "http://10.0.0.5:8080/in", wantURL: "http://10.0.0.5:8080/in"},
		{name: "own webhook even when private allowed", private: true, url: "http://lastmile.example/webhook/x", wantErr: "own inbound webhook"},
		{name: "ftp when private allowed", private: true, url: "ftp://10.0.0.5/", wantErr: "https:// or http://"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				svc := outbound.NewService(db, w.box, w.clock, outbound.Options{AllowPrivate: tc.private, BaseURL: "https://lastmile.example", Resolver: resolver})
				h, secret, err := svc.Create(w.ctx, w.ops.ID, tc.url, tc.events)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
					}
					if k := apperr.KindOf(err); k != apperr.Invalid {
						t.Errorf("kind = %s, want invalid", k)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if tc.wantURL != "" && h.URL != tc.wantURL {
					t.Errorf("url = %q, want %q", h.URL, tc.wantURL)
				}
				if len(secret) != 43 {
					t.Errorf("secret %q is not 32 bytes in base64url", secret)
				}
				if tc.events != nil && !slices.Equal(h.Events, []int{1, 200, 201}) {
					t.Errorf("events = %v, want sorted and without repeats", h.Events)
				}
			})
		}
	})
}
