package push

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

func TestValidateAddress(t *testing.T) {
	b := pushtest.NewBrowser()
	p256, auth := b.P256dh(), b.Auth()
	sub := func(endpoint, p256dh, auth string) string {
		return `{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`
	}
	canonical := sub("https://fcm.googleapis.com/fcm/send/abc?x=1&y=2", p256, auth)
	point := make([]byte, 65) // 0x04, x = 0, y = 1: the right length, not on the curve
	point[0], point[64] = 4, 1
	offCurve := base64.RawURLEncoding.EncodeToString(point)

	tests := []struct {
		name    string
		in      string
		want    string // canonical form; "" when refused
		wantErr string
	}{
		{"as the browser sends it", canonical, canonical, ""},
		{"padded keys and whitespace", " {\"endpoint\": \"https://fcm.googleapis.com/fcm/send/abc?x=1&y=2\", \"keys\": {\"auth\": \"" + auth + "==\", \"p256dh\": \"" + p256 + "=\"}, \"expirationTime\": null, \"extra\": 1}\n", canonical, ""},
		{"expiration time kept", `{"endpoint":"https://p.example/x","expirationTime":1767225600000,"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`,
			`{"endpoint":"https://p.example/x","expirationTime":1767225600000,"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, ""},
		{"http on loopback", sub("http://127.0.0.1:9000/push/a", p256, auth), sub("http://127.0.0.1:9000/push/a", p256, auth), ""},
		{"http on localhost", sub("http://localhost:9000/push/a", p256, auth), sub("http://localhost:9000/push/a", p256, auth), ""},
		{"not JSON", "https://fcm.googleapis.com/fcm/send/abc", "", "push subscription: not the JSON of a browser's PushSubscription"},
		{"two values", canonical + canonical, "", "more than one JSON value"},
		{"no endpoint", `{"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, "", "push subscription: endpoint is missing"},
		{"relative endpoint", sub("/fcm/send/abc", p256, auth), "", "endpoint must be an absolute https URL"},
		{"http elsewhere", sub("http://push.example/a", p256, auth), "", "endpoint must be an https URL"},
		{"ftp", sub("ftp://push.example/a", p256, auth), "", "endpoint must be an absolute https URL"},
		{"credentials in endpoint", sub("https://u:p@push.example/a", p256, auth), "", "must not carry a user name or password"},
		{"no p256dh", sub("https://push.example/a", "", auth), "", "push subscription: keys.p256dh is missing"},
		{"short p256dh", sub("https://push.example/a", p256[:40], auth), "", "push subscription: keys.p256dh must be a P-256 public key (65 bytes of base64url)"},
		{"p256dh off the curve", sub("https://push.example/a", offCurve, auth), "", "keys.p256dh must be a P-256 public key"},
		{"p256dh not base64", sub("https://push.example/a", "!!!", auth), "", "keys.p256dh must be a P-256 public key"},
		{"no auth", sub("https://push.example/a", p256, ""), "", "push subscription: keys.auth is missing"},
		{"short auth", sub("https://push.example/a", p256, "AAAA"), "", "push subscription: keys.auth must be 16 bytes of base64url"},
		{"negative expiration", `{"endpoint":"https://p.example/x","expirationTime":-1,"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, "", "expirationTime must be null"},
		{"huge", sub("https://push.example/"+strings.Repeat("a", 5000), p256, auth), "", "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Provider().ValidateAddress("push", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("canonical\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := Provider().ValidateAddress("sms", canonical); err == nil {
		t.Error("accepted an address for another channel")
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://fcm.googleapis.com/fcm/send/abc":     "https://fcm.googleapis.com",
		"https://FCM.googleapis.com:443/fcm/send/abc": "https://fcm.googleapis.com",
		"https://push.example:8443/x":                 "https://push.example:8443",
		"http://127.0.0.1:80/x":                       "http://127.0.0.1",
		"http://127.0.0.1:9000/push/a":                "http://127.0.0.1:9000",
		"https://[::1]:8443/x":                        "https://[::1]:8443",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := origin(u); got != want {
			t.Errorf("origin(%s) = %s, want %s", in, got, want)
		}
	}
}
