package notify

import (
	"strings"
	"testing"
)

func TestDecodeSettingsIsStrict(t *testing.T) {
	type settings struct {
		ServerURL string `json:"serverUrl"`
		Token     string `json:"token,omitempty"`
	}
	for _, tt := range []struct {
		in, wantErr string
	}{
		{`{"serverUrl":"https://ntfy.example","token":"t"}`, ""},
		{``, ""},
		{`{"serverURL":"https://ntfy.example"}`, `did you mean "serverUrl"`},
		{`{"sever":"x"}`, `unknown field "sever"`},
		{`{"token": 5}`, "cannot unmarshal"},
	} {
		var s settings
		err := DecodeSettings([]byte(tt.in), &s)
		if tt.wantErr == "" && err != nil {
			t.Errorf("%s: %v", tt.in, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseLimits(t *testing.T) {
	l, err := ParseLimits("sms=2/1m, 4/10m; push=")
	if err != nil {
		t.Fatal(err)
	}
	if len(l["sms"]) != 2 || l["sms"][1].N != 4 || len(l["push"]) != 0 || len(l["voice"]) != 3 {
		t.Fatalf("limits %v", l)
	}
	for _, bad := range []string{"sms", "sms=x/1m", "sms=0/1m", "sms=1/1ms", "sms=1"} {
		if _, err := ParseLimits(bad); err == nil {
			t.Errorf("ParseLimits(%q) accepted", bad)
		}
	}
}
